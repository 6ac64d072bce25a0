import { useState, type FormEvent } from 'react';
import { LayeredGraph, type GraphEdge, type GraphNode } from '../components/graph.js';
import { ErrorNote, Loading, StageBadge } from '../components/ui.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, navigate, paths, useLocation } from '../router.js';
import { useSession } from '../session.js';

const KINDS = [['dataset', 'Dataset (name or name@version)'], ['commit', 'Code commit'], ['parent', 'Parent version (model@version)']] as const;

export function Impact() {
  useTitle('Impact');
  const { client } = useSession();
  const { search } = useLocation();
  const current = KINDS.find(([k]) => search.get(k)) ?? null;
  const [kind, setKind] = useState<string>(current?.[0] ?? 'dataset');
  const [value, setValue] = useState(current ? search.get(current[0])! : '');
  const query = current ? { [current[0]]: search.get(current[0])! } : null;
  const impact = useAsync(async () => (query ? client.impact(query) : null), [JSON.stringify(query)]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(paths.impact(`${kind}=${encodeURIComponent(value.trim())}`));
  };
  const data = impact.data;
  return (
    <section>
      <h1>Impact</h1>
      <p>Which versions were built on a dataset, a commit or a parent version, and which of them are in production.</p>
      <form className="filters" onSubmit={submit} aria-label="Impact query">
        <div>
          <label htmlFor="i-kind">Built on</label>
          <select id="i-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            {KINDS.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        </div>
        <div className="grow">
          <label htmlFor="i-value">Value</label>
          <input id="i-value" value={value} onChange={(e) => setValue(e.target.value)} required />
        </div>
        <div><button type="submit" className="primary">Find affected versions</button></div>
      </form>
      <ErrorNote error={impact.error} />
      {impact.loading && query && <Loading what="impact" />}
      {data && query && (
        <>
          <p role="status"><strong>{data.affected.length}</strong> version(s) affected, <strong>{data.in_production}</strong> in production.</p>
          {data.affected.length > 0 && <ImpactGraph root={Object.values(query)[0]!} kind={Object.keys(query)[0]!} affected={data.affected} />}
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Affected versions</caption>
              <thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Stage</th><th scope="col">Aliases</th><th scope="col">How</th></tr></thead>
              <tbody>
                {data.affected.map((a) => (
                  <tr key={`${a.model}@${a.version}`} className={a.stage === 'production' ? 'changed' : undefined}>
                    <th scope="row" className="break"><Link to={paths.model(a.model)}>{a.model}</Link></th>
                    <td><Link to={paths.version(a.model, a.version)}>version {a.version}</Link></td>
                    <td><StageBadge stage={a.stage} /></td>
                    <td>{a.aliases.map((x) => `@${x}`).join(' ') || '—'}</td>
                    <td>{a.direct ? 'built on it directly' : 'descended from a version built on it'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function ImpactGraph({ root, kind, affected }: { root: string; kind: string; affected: { model: string; version: number; stage: string; direct: boolean }[] }) {
  const rootId = `${kind}:${root}`;
  const nodes: GraphNode[] = [{ id: rootId, kind, label: root, emphasis: true }];
  const edges: GraphEdge[] = [];
  const levels = new Map<string, number>([[rootId, 2]]);
  for (const a of affected) {
    const id = `v:${a.model}@${a.version}`;
    nodes.push({ id, kind: 'version', label: `${a.model} v${a.version}`, sublabel: a.stage, href: paths.version(a.model, a.version), emphasis: a.stage === 'production' });
    levels.set(id, a.direct ? 1 : 0);
    if (a.direct) edges.push({ from: id, to: rootId, label: 'built on' });
  }
  return <LayeredGraph title={`Impact of ${kind} ${root}: ${affected.length} versions`} nodes={nodes} edges={edges} levels={levels} />;
}
