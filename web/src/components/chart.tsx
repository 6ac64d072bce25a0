/**
 * Metrics side by side as grouped bars, one group per metric. Each metric is scaled to its own
 * largest value (AUC and latency do not share an axis); the value is printed on every bar,
 * and versions are told apart by pattern as well as colour.
 */
import { metric } from '../format.js';

const COLOURS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c'];

export function MetricChart({ versions, keys }: { versions: { label: string; metrics: Record<string, number> }[]; keys: string[] }) {
  const barW = 26;
  const groupW = versions.length * barW + 30;
  const chartH = 160;
  const top = 20;
  const width = Math.max(300, keys.length * groupW + 20);
  const height = top + chartH + 60;
  return (
    <figure className="chart">
      <div className="graph-scroll">
        <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img"
          aria-label={`Bar chart of ${keys.length} metrics across ${versions.length} versions; the same values are in the table`}>
          <defs>
            {versions.map((_, i) => (
              <pattern key={i} id={`hatch-${i}`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform={`rotate(${i * 45})`}>
                <rect width="6" height="6" fill={COLOURS[i % COLOURS.length]} />
                {i % 2 === 1 && <line x1="0" y1="0" x2="0" y2="6" stroke="#fff" strokeWidth="2" />}
              </pattern>
            ))}
          </defs>
          <line x1="10" x2={width - 10} y1={top + chartH} y2={top + chartH} stroke="#374151" />
          {keys.map((key, k) => {
            const values = versions.map((v) => v.metrics[key]);
            const max = Math.max(...values.map((v) => Math.abs(v ?? 0)), 1e-12);
            const x0 = 20 + k * groupW;
            return (
              <g key={key}>
                {values.map((value, i) => {
                  if (value === undefined) return null;
                  const h = (Math.abs(value) / max) * (chartH - 10);
                  const x = x0 + i * barW;
                  return (
                    <g key={i}>
                      <rect x={x} y={top + chartH - h} width={barW - 4} height={h} fill={`url(#hatch-${i})`}>
                        <title>{`${versions[i]!.label} ${key} = ${value}`}</title>
                      </rect>
                      <text x={x + (barW - 4) / 2} y={top + chartH - h - 4} textAnchor="middle" className="bar-value">{metric(value)}</text>
                    </g>
                  );
                })}
                <text x={x0 + (versions.length * barW) / 2} y={top + chartH + 18} textAnchor="middle" className="axis-label">
                  {key.length > 16 ? `${key.slice(0, 15)}…` : key}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption className="legend">
        {versions.map((v, i) => (
          <span key={v.label} className="legend-item">
            <svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" fill={`url(#hatch-${i})`} /></svg> {v.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
