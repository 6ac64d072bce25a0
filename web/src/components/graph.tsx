/**
 * A layered graph in plain SVG: column 0 on the right, each higher level one column to the
 * left, so upstream things (data, code, parents) sit left of what they produced. Long labels
 * are cut with an ellipsis and kept whole in a tooltip; the same graph is also given as a list
 * for screen readers and keyboard users.
 */
import { navigate } from '../router.js';

export interface GraphNode {
  id: string;
  kind: string;
  label: string;
  sublabel?: string;
  href?: string;
  emphasis?: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  label: string;
}

const W = 210;
const H = 52;
const GAP_X = 90;
const GAP_Y = 22;

export function LayeredGraph({ nodes, edges, levels, title }: { nodes: GraphNode[]; edges: GraphEdge[]; levels: Map<string, number>; title: string }) {
  const columns = new Map<number, GraphNode[]>();
  for (const node of nodes) {
    const level = levels.get(node.id) ?? 0;
    columns.set(level, [...(columns.get(level) ?? []), node]);
  }
  const maxLevel = Math.max(0, ...columns.keys());
  const tallest = Math.max(1, ...[...columns.values()].map((c) => c.length));
  const width = (maxLevel + 1) * (W + GAP_X) - GAP_X + 20;
  const height = tallest * (H + GAP_Y) - GAP_Y + 20;
  const at = new Map<string, { x: number; y: number }>();
  for (const [level, column] of columns) {
    const offset = (height - (column.length * (H + GAP_Y) - GAP_Y)) / 2;
    column.forEach((node, i) => at.set(node.id, { x: 10 + (maxLevel - level) * (W + GAP_X), y: offset + i * (H + GAP_Y) }));
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return (
    <figure className="graph">
      <div className="graph-scroll">
        <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="#4b5563" />
            </marker>
          </defs>
          {edges.map((e, i) => {
            const a = at.get(e.to);
            const b = at.get(e.from);
            if (!a || !b) return null;
            // Drawn from the upstream node (e.to) to the one it produced (e.from).
            const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
            const mid = (x1 + x2) / 2;
            return (
              <g key={i}>
                <path d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`} fill="none" stroke="#4b5563" strokeWidth="1.5" markerEnd="url(#arrow)" />
                <text x={mid} y={(y1 + y2) / 2 - 4} textAnchor="middle" className="edge-label">{e.label}</text>
              </g>
            );
          })}
          {nodes.map((n) => {
            const p = at.get(n.id)!;
            const body = (
              <g className={`node node-${n.kind}${n.emphasis ? ' node-emphasis' : ''}`}>
                <title>{`${n.kind}: ${n.label}${n.sublabel ? ` (${n.sublabel})` : ''}`}</title>
                <rect x={p.x} y={p.y} width={W} height={H} rx="6" />
                <text x={p.x + 10} y={p.y + 20} className="node-label">{clip(n.label, 26)}</text>
                <text x={p.x + 10} y={p.y + 39} className="node-sub">{clip(`${n.kind}${n.sublabel ? ` · ${n.sublabel}` : ''}`, 30)}</text>
              </g>
            );
            return n.href
              ? <a key={n.id} href={n.href} onClick={(e) => { e.preventDefault(); navigate(n.href!); }}>{body}</a>
              : <g key={n.id}>{body}</g>;
          })}
        </svg>
      </div>
      <figcaption>
        <details>
          <summary>The graph as a list</summary>
          <ul>
            {edges.map((e, i) => (
              <li key={i}>{describe(byId.get(e.from))} — {e.label} → {describe(byId.get(e.to))}</li>
            ))}
          </ul>
        </details>
      </figcaption>
    </figure>
  );
}

function describe(n: GraphNode | undefined): string {
  return n ? `${n.kind} ${n.label}${n.sublabel ? ` (${n.sublabel})` : ''}` : '?';
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Breadth-first distance from `root` along edges (from → to). */
export function levelsFrom(root: string, edges: GraphEdge[]): Map<string, number> {
  const levels = new Map([[root, 0]]);
  let frontier = [root];
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const e of edges) {
        if (e.from === id && !levels.has(e.to)) {
          levels.set(e.to, levels.get(id)! + 1);
          next.push(e.to);
        }
      }
    }
    frontier = next;
  }
  return levels;
}
