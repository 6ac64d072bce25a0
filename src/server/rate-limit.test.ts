import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('allows the burst, then one request per refill interval, and says how long to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets(60, 3, 100, () => now); // one a second, three at once
    expect([buckets.take('a'), buckets.take('a'), buckets.take('a')]).toEqual([0, 0, 0]);
    expect(buckets.take('a')).toBe(1);
    expect(buckets.wait('a')).toBe(1);
    now += 1000;
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('b')).toBe(0); // keys are independent
  });

  it('keeps nothing for a key that only asked, and at most maxKeys keys', () => {
    const buckets = new TokenBuckets(60, 1, 2, () => 0);
    expect(buckets.wait('never-failed')).toBe(0);
    buckets.take('a');
    buckets.take('b');
    expect(buckets.take('a')).toBe(1);
    buckets.take('c'); // 'a' came first: forgotten, and starts full again
    expect(buckets.take('a')).toBe(0);
  });

  it('says when every bucket is full again: no key then has to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets(60, 3, 100, () => now); // refills from empty in 3 s
    expect(buckets.allFull()).toBe(true);
    buckets.take('a');
    expect(buckets.allFull()).toBe(false);
    buckets.take('a');
    buckets.take('a');
    now += 1000;
    buckets.take('b');
    now += 2999;
    expect(buckets.allFull()).toBe(false); // 'b' took 2.999 s ago
    now += 1;
    expect(buckets.allFull()).toBe(true);
    expect([buckets.wait('a'), buckets.wait('b')]).toEqual([0, 0]);
  });
});
