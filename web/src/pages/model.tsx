import { useState } from 'react';
import { ErrorNote, Loading, Pager, StageBadge, Tags, usePager } from '../components/ui.js';
import { ago, metric, when } from '../format.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, navigate, paths } from '../router.js';
import { useSession } from '../session.js';

export function ModelPage({ name }: { name: string }) {
  useTitle(name);
  const { client } = useSession();
  const model = useAsync(() => client.getModel(name), [name]);
  const production = useAsync(async () => (await client.history(name, { target: 'production', page_size: 1 })).history.find((h) => h.ended_at === null) ?? null, [name]);
  const pager = usePager(name);
  const versions = useAsync(() => client.listVersions(name, { page_size: 25, page_token: pager.token, order: 'desc' }), [name, pager.token]);
  const [picked, setPicked] = useState<number[]>([]);

  if (model.error) return <section><h1>{name}</h1><ErrorNote error={model.error} /></section>;
  if (!model.data) return <Loading what="the model" />;
  const m = model.data;
  const list = versions.data?.versions ?? [];
  // The metrics most versions share, as the table's key columns.
  const counts = new Map<string, number>();
  for (const v of list) for (const k of Object.keys(v.metrics)) counts.set(k, (counts.get(k) ?? 0) + 1);
  const keyMetrics = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3).map(([k]) => k);
  const toggle = (v: number) => setPicked((p) => (p.includes(v) ? p.filter((x) => x !== v) : [...p, v]));
  const holder = production.data;

  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> /</p>
      <h1 className="break">{m.name}</h1>
      {m.description && <p className="lead">{m.description}</p>}
      <div className="summary">
        <div className="card production" aria-live="polite">
          <h2>In production</h2>
          {production.loading && !production.data ? <Loading what="production" /> : holder ? (
            <p>
              <Link to={paths.version(name, holder.version)}><strong>version {holder.version}</strong></Link> since {when(holder.started_at)} ({ago(holder.started_at)}),
              {holder.via === 'rollback'
                ? <> rolled back by {holder.actor}: “{holder.reason}”</>
                : <> via {holder.via} by {holder.actor}{holder.approved_by.length ? <>, approved by {holder.approved_by.join(', ')}</> : null}</>}
            </p>
          ) : <p>No version is in production.</p>}
          <p><Link to={paths.history(name)}>Stage and alias timeline</Link></p>
        </div>
        <dl className="card facts">
          <dt>Risk tier</dt><dd>{m.risk_tier ?? '—'}</dd>
          <dt>Owner</dt><dd>{m.owner || '—'}</dd>
          <dt>Validation</dt><dd>{m.validation_status.replace(/_/g, ' ')}{m.next_validation_due ? `, due ${m.next_validation_due}` : ''}</dd>
          <dt>Tags</dt><dd><Tags tags={m.tags} /></dd>
          {m.intended_use && <><dt>Intended use</dt><dd>{m.intended_use}</dd></>}
          {m.restrictions && <><dt>Restrictions</dt><dd>{m.restrictions}</dd></>}
        </dl>
      </div>

      <h2>Versions</h2>
      <ErrorNote error={versions.error} />
      <div className="toolbar">
        <button type="button" className="primary" disabled={picked.length < 2} onClick={() => navigate(paths.compare(name, [...picked].sort((a, b) => a - b)))}>
          Compare selected ({picked.length})
        </button>
        <span className="muted small">Tick two or more versions to compare their metrics and params.</span>
      </div>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Versions of {name}</caption>
          <thead>
            <tr>
              <th scope="col"><span className="sr-only">Compare</span></th>
              <th scope="col">Version</th><th scope="col">Stage</th><th scope="col">Aliases</th>
              {keyMetrics.map((k) => <th scope="col" key={k} className="num">{k}</th>)}
              <th scope="col">Created by</th><th scope="col">Age</th>
            </tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.version}>
                <td><input type="checkbox" aria-label={`Compare version ${v.version}`} checked={picked.includes(v.version)} onChange={() => toggle(v.version)} /></td>
                <th scope="row"><Link to={paths.version(name, v.version)}>version {v.version}</Link>{v.degraded && <span className="badge warn"> degraded</span>}</th>
                <td><StageBadge stage={v.stage} /></td>
                <td>{v.aliases.length ? v.aliases.map((a) => <span key={a} className="tag">@{a}</span>) : <span className="muted">—</span>}</td>
                {keyMetrics.map((k) => <td key={k} className="num">{metric(v.metrics[k])}</td>)}
                <td>{v.created_by}</td>
                <td title={when(v.created_at)}>{ago(v.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {versions.data && list.length === 0 && <p className="muted">No versions yet.</p>}
      <Pager pager={pager} nextToken={versions.data?.next_page_token} label="Versions" />
    </section>
  );
}
