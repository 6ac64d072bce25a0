import { useState } from 'react';
import type { RiskTier, Stage } from '../../../src/sdk/client.js';
import { ErrorNote, Loading, Pager, Tags, usePager } from '../components/ui.js';
import { ago, when } from '../format.js';
import { useAsync, useDebounced, useTitle } from '../hooks.js';
import { Link, navigate, paths, useLocation } from '../router.js';
import { useSession } from '../session.js';

const TIERS: RiskTier[] = ['low', 'medium', 'high', 'critical'];
const STAGES: Stage[] = ['production', 'staging', 'development', 'archived'];

export function Models() {
  useTitle('Models');
  const { client } = useSession();
  const { search } = useLocation();
  // The filters live in the URL, so a filtered list can be bookmarked and shared.
  const [name, setName] = useState(search.get('q') ?? '');
  const tier = (search.get('risk_tier') ?? '') as RiskTier | '';
  const tag = search.get('tag') ?? '';
  const stage = (search.get('stage') ?? '') as Stage | '';
  const sort = (search.get('sort') ?? 'name') as 'name' | 'updated_at' | 'created_at';
  const q = useDebounced(name.trim(), 250);
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value); else next.delete(key);
    navigate(`/models${next.size ? `?${next}` : ''}`, true);
  };
  const filterKey = JSON.stringify([q, tier, tag, stage, sort]);
  const pager = usePager(filterKey);
  const models = useAsync(() => client.listModels({
    name_prefix: q || undefined, risk_tier: tier || undefined, tag: tag ? [tag] : undefined,
    stage: stage || undefined, sort, page_size: 25, page_token: pager.token,
  }), [filterKey, pager.token]);

  return (
    <section>
      <h1>Models</h1>
      <form className="filters" role="search" aria-label="Filter models" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="f-name">Name starts with</label>
          <input id="f-name" type="search" value={name} onChange={(e) => { setName(e.target.value); set('q', e.target.value.trim()); }} />
        </div>
        <div>
          <label htmlFor="f-tier">Risk tier</label>
          <select id="f-tier" value={tier} onChange={(e) => set('risk_tier', e.target.value)}>
            <option value="">any</option>
            {TIERS.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="f-tag">Tag (key or key=value)</label>
          <input id="f-tag" defaultValue={tag} onBlur={(e) => set('tag', e.target.value.trim())}
            onKeyDown={(e) => { if (e.key === 'Enter') set('tag', e.currentTarget.value.trim()); }} />
        </div>
        <div>
          <label htmlFor="f-sort">Sort by</label>
          <select id="f-sort" value={sort} onChange={(e) => set('sort', e.target.value === 'name' ? '' : e.target.value)}>
            <option value="name">name</option>
            <option value="updated_at">recently updated</option>
            <option value="created_at">recently created</option>
          </select>
        </div>
        <div>
          <label htmlFor="f-stage">With a version in</label>
          <select id="f-stage" value={stage} onChange={(e) => set('stage', e.target.value)}>
            <option value="">any stage</option>
            {STAGES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
      </form>
      <ErrorNote error={models.error} />
      {models.loading && !models.data && <Loading what="models" />}
      {models.data && (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Models, page {pager.page}</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Risk tier</th><th scope="col">Owner</th><th scope="col">Tags</th><th scope="col">Updated</th></tr></thead>
              <tbody>
                {models.data.models.map((m) => (
                  <tr key={m.name}>
                    <th scope="row"><Link to={paths.model(m.name)}>{m.name}</Link>{m.archived && <span className="badge"> archived</span>}</th>
                    <td className="clamp">{m.description || <span className="muted">—</span>}</td>
                    <td>{m.risk_tier ? <span className={`badge risk-${m.risk_tier}`}>{m.risk_tier}</span> : <span className="muted">—</span>}</td>
                    <td>{m.owner || <span className="muted">—</span>}</td>
                    <td><Tags tags={m.tags} /></td>
                    <td title={when(m.updated_at)}>{ago(m.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {models.data.models.length === 0 && <p className="muted">No models match these filters.</p>}
          <Pager pager={pager} nextToken={models.data.next_page_token} label="Models" />
        </>
      )}
    </section>
  );
}
