import { describe, expect, it } from 'vitest';
import type { Affected } from '../core/services/lineage-service.js';
import { impactReplyBytes } from './impact-reply.js';

describe('impactReplyBytes', () => {
  it('writes the bytes JSON.stringify gives for the same reply', () => {
    const affected: Affected[] = [];
    const stages = ['production', 'staging', 'development', 'archived'] as const;
    for (let i = 0; i < 2000; i++) {
      affected.push({
        model: ['fraud', 'churn-v2', 'ünïcode-模型', 'quote"back\\slash', 'emoji-😀', 'ctl\u0000\n\u007f', 'lone\ud800', 'sep\u2028\u2029'][i % 8]!,
        version: [1, 9, 10, 99, 100, 12345, 2147483647][i % 7]!,
        stage: stages[i % 4]!,
        aliases: i % 11 === 0 ? ['champion', 'é-alias'] : i % 13 === 0 ? ['"q"', 'lone\udc00'] : [],
        direct: i % 3 !== 0,
      });
    }
    const reply = {
      affected,
      datasets: [{ name: 'transactions', version: 'v1', uri: null, description: 'naïve \u2028 line', tags: { k: 'v' }, size: null }],
      in_production: affected.filter((a) => a.stage === 'production').length,
    };
    expect(impactReplyBytes(reply).equals(Buffer.from(JSON.stringify(reply)))).toBe(true);
  });

  it('writes an empty list', () => {
    const reply = { affected: [], datasets: [], in_production: 0 };
    expect(impactReplyBytes(reply).equals(Buffer.from(JSON.stringify(reply)))).toBe(true);
    expect(JSON.parse(impactReplyBytes(reply).toString('utf8'))).toEqual(reply);
  });
});
