import type { LineageGraph } from '../../../src/sdk/client.js';
import { LayeredGraph, levelsFrom, type GraphEdge, type GraphNode } from '../components/graph.js';
import { ErrorNote, Loading } from '../components/ui.js';
import { useAsync, useTitle } from '../hooks.js';
import { Link, paths } from '../router.js';
import { useSession } from '../session.js';

export function Lineage({ name, version }: { name: string; version: number }) {
  useTitle(`${name} v${version} lineage`);
  const { client } = useSession();
  const graph = useAsync(() => client.lineage(name, version, 5), [name, version]);
  return (
    <section>
      <p className="crumbs"><Link to="/models">Models</Link> / <Link to={paths.model(name)}>{name}</Link> / <Link to={paths.version(name, version)}>version {version}</Link> /</p>
      <h1 className="break">Lineage of {name} version {version}</h1>
      <p>Upstream, left to right: the datasets, code, run and parent versions that produced this version. Click a dataset to see everything built on it.</p>
      <ErrorNote error={graph.error} />
      {graph.loading && !graph.data && <Loading what="lineage" />}
      {graph.data && <Drawn graph={graph.data} />}
    </section>
  );
}

function Drawn({ graph }: { graph: LineageGraph }) {
  const nodes: GraphNode[] = graph.nodes.map((n) => {
    const s = (k: string) => (n[k] === null || n[k] === undefined ? '' : String(n[k]));
    switch (n.kind) {
      case 'version':
        return { id: n.id, kind: 'version', label: `${s('model')} v${s('version')}`, sublabel: s('stage'), href: paths.version(s('model'), Number(s('version'))), emphasis: n.id === graph.root };
      case 'dataset':
        return { id: n.id, kind: 'dataset', label: `${s('name')}@${s('version')}`, href: paths.impact(`dataset=${encodeURIComponent(`${s('name')}@${s('version')}`)}`) };
      case 'code':
        return { id: n.id, kind: 'code', label: s('repo').replace(/^.*[/:]/, '').replace(/\.git$/, '') || s('repo'), sublabel: s('commit').slice(0, 10) };
      default:
        return { id: n.id, kind: n.kind, label: s('run_id') || n.id, sublabel: s('experiment') };
    }
  });
  const edges: GraphEdge[] = graph.edges.map((e) => ({ from: e.from, to: e.to, label: e.kind.replace(/_/g, ' ') }));
  if (edges.length === 0) return <p className="muted">This version declares no lineage.</p>;
  return <LayeredGraph title={`Lineage graph with ${nodes.length} nodes`} nodes={nodes} edges={edges} levels={levelsFrom(graph.root, edges)} />;
}
