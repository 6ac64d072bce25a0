import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
  it('hashes the same content the same whatever the insertion order', () => {
    expect(canonicalJson({ x: 'é', y: null })).toBe(canonicalJson({ y: null, x: 'é' }));
  });
  it('refuses non-finite numbers rather than writing null', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });
});

describe('canonicalJson matches the reference definition', () => {
  // The definition the audit chain was first hashed with; the fast version must never differ.
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map((item) => reference(item ?? null)).join(',')}]`;
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
  };
  it('on nested, unicode, empty and sparse values', () => {
    const samples: unknown[] = [
      { z: [1, undefined, null, { b: true, a: false }], 'é': 'x', 'E': -0, '10': 1, '9': 2, '': { } },
      [[], {}, '', 0, 1.5e300, -1e-300, 'line\nbreak "quoted" \u2028'],
      { changes: { from: { tags: { k: 'v' } }, to: null }, seq: 12, request_id: null, time: '2026-01-01T00:00:00.000Z' },
      'plain', 42, true, null, new Date(0),
    ];
    for (const sample of samples) expect(canonicalJson(sample)).toBe(reference(sample));
  });
});
