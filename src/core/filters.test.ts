import { describe, expect, it } from 'vitest';
import { parseMetricFilter, parseTagFilter } from './filters.js';

describe('parseMetricFilter', () => {
  it('reads every comparison operator', () => {
    for (const op of ['>=', '>', '<=', '<', '==', '!='] as const) {
      expect(parseMetricFilter(`metrics.auc ${op} 0.9`)).toEqual({ name: 'auc', op, value: 0.9 });
    }
    expect(parseMetricFilter('metrics.fairness.gap<=-5e-2')).toEqual({ name: 'fairness.gap', op: '<=', value: -0.05 });
  });
  it('rejects anything else with INVALID_FILTER', () => {
    for (const bad of ['auc >= 1', 'metrics.auc >>= 1', 'metrics.auc >= abc', "metrics.auc >= 1 or 1=1", 'metrics.a;drop >= 1', 'metrics.auc >= Infinity', '']) {
      expect(() => parseMetricFilter(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_FILTER' }));
    }
  });
});

describe('parseTagFilter', () => {
  it('reads key and key=value', () => {
    expect(parseTagFilter('team')).toEqual({ key: 'team' });
    expect(parseTagFilter('team=risk=high')).toEqual({ key: 'team', value: 'risk=high' });
    expect(() => parseTagFilter('bad key')).toThrow(expect.objectContaining({ code: 'INVALID_FILTER' }));
  });
});
