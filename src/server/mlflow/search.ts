/**
 * MLflow's search filter grammar, the part its registry search accepts: comparisons joined
 * by AND, on `name`, `tags.<key>`, `run_id`, `source_path` (strings: = != LIKE ILIKE, and
 * run_id IN (...)) and `version_number`, `creation_timestamp`, `last_updated_timestamp`
 * (numbers: = != < <= > >=).
 */
import { ModelgateError } from '../../core/errors.js';

export interface Clause {
  key: string;
  op: string;
  value: string | number | string[];
}

const CLAUSE = /^\s*(`[^`]+`|[A-Za-z_][\w.]*(?:\.`[^`]+`)?)\s*(=|!=|<=|>=|<|>|LIKE|ILIKE|IN)\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|-?\d+(?:\.\d+)?|\([^)]*\))\s*$/i;

export function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  if (filter.length > 1000) throw invalid('filter is longer than 1000 characters');
  return splitAnd(filter).map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) throw invalid(`invalid filter clause ${JSON.stringify(part.trim())}`);
    const key = m[1]!.replace(/`/g, '');
    const op = m[2]!.toUpperCase();
    const raw = m[3]!;
    let value: Clause['value'];
    if (raw.startsWith('(')) value = raw.slice(1, -1).split(',').map((s) => unquote(s.trim()));
    else if (/^['"]/.test(raw)) value = unquote(raw);
    else value = Number(raw);
    if (op === 'IN' && !Array.isArray(value)) throw invalid('IN needs a list: (\'a\', \'b\')');
    return { key, op, value };
  });
}

/** Splits on AND outside quotes (case-insensitive). */
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      continue;
    }
    const m = /^\s+and\s+/i.exec(filter.slice(i));
    if (m && /\s/.test(c)) {
      parts.push(filter.slice(start, i));
      i += m[0].length - 1;
      start = i + 1;
    }
  }
  if (quote) throw invalid('unterminated quote in filter');
  parts.push(filter.slice(start));
  return parts;
}

function unquote(s: string): string {
  if (/^'.*'$/s.test(s)) return s.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/s.test(s)) return s.slice(1, -1).replace(/""/g, '"');
  throw invalid(`expected a quoted string, got ${s}`);
}

function like(value: string, pattern: string, insensitive: boolean): boolean {
  const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, insensitive ? 'is' : 's');
  return re.test(value);
}

/** Whether a record matches every clause; `fields` maps a key to the record's value for it. */
export function matches(clauses: Clause[], field: (key: string) => string | number | undefined, allowed: string[]): boolean {
  return clauses.every((c) => {
    const base = c.key.startsWith('tags.') ? 'tags' : c.key;
    if (!allowed.includes(base)) throw invalid(`cannot filter on ${c.key}; use ${allowed.join(', ')}`);
    const actual = field(c.key);
    switch (c.op) {
      case '=': return actual !== undefined && actual === c.value;
      case '!=': return actual !== c.value;
      case 'LIKE': return typeof actual === 'string' && like(actual, String(c.value), false);
      case 'ILIKE': return typeof actual === 'string' && like(actual, String(c.value), true);
      case 'IN': return actual !== undefined && (c.value as string[]).includes(String(actual));
      default: {
        if (typeof actual !== 'number' || typeof c.value !== 'number') throw invalid(`${c.op} compares numbers only (${c.key})`);
        return c.op === '<' ? actual < c.value : c.op === '<=' ? actual <= c.value : c.op === '>' ? actual > c.value : actual >= c.value;
      }
    }
  });
}

/** `order_by` entries `"<key> [ASC|DESC]"` as a comparator. */
export function comparator<T>(orderBy: string[], field: (item: T, key: string) => string | number, allowed: string[], fallback: string): (a: T, b: T) => number {
  const keys = (orderBy.length > 0 ? orderBy : [fallback]).map((entry) => {
    const m = /^\s*([\w.]+)\s*(ASC|DESC)?\s*$/i.exec(entry);
    if (!m || !allowed.includes(m[1]!)) throw invalid(`invalid order_by ${JSON.stringify(entry)}; use ${allowed.join(', ')} with ASC or DESC`);
    return { key: m[1]!, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' };
  });
  return (a, b) => {
    for (const { key, desc } of keys) {
      const x = field(a, key);
      const y = field(b, key);
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  };
}

export function invalid(message: string): ModelgateError {
  return new ModelgateError('VALIDATION_FAILED', message);
}
