/** Parses the small filter grammar of version lists: `metrics.<name> <op> <number>`. */
import { errors } from './errors.js';
import { isMetricName } from './names.js';
import type { MetricCondition } from './ports.js';

const METRIC_FILTER = /^\s*metrics\.([^\s<>=!]+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$/;

export function parseMetricFilter(filter: string): MetricCondition {
  if (filter.length > 300) throw errors.invalidFilter(filter.slice(0, 40) + '...', 'longer than 300 characters');
  const match = METRIC_FILTER.exec(filter);
  if (!match) throw errors.invalidFilter(filter, 'expected metrics.<name> <op> <number> with op one of >= > <= < == !=');
  const [, name, op, raw] = match as unknown as [string, string, MetricCondition['op'], string];
  const value = Number(raw);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) || !Number.isFinite(value)) {
    throw errors.invalidFilter(filter, `${JSON.stringify(raw)} is not a finite number`);
  }
  if (!isMetricName(name)) throw errors.invalidFilter(filter, `${JSON.stringify(name)} is not a metric name`);
  return { name, op, value };
}

/** Parses `key` or `key=value` tag filters. */
export function parseTagFilter(filter: string): { key: string; value?: string } {
  const eq = filter.indexOf('=');
  const key = eq === -1 ? filter : filter.slice(0, eq);
  if (!/^[A-Za-z0-9._:/-]{1,128}$/.test(key)) throw errors.invalidFilter(filter, 'expected key or key=value');
  return eq === -1 ? { key } : { key, value: filter.slice(eq + 1) };
}

/** Whether `value op threshold` holds. */
export function compareMetric(value: number, op: MetricCondition['op'], threshold: number): boolean {
  switch (op) {
    case '>=': return value >= threshold;
    case '>': return value > threshold;
    case '<=': return value <= threshold;
    case '<': return value < threshold;
    case '==': return value === threshold;
    default: return value !== threshold;
  }
}
