import { describe, expect, it } from 'vitest';
import { EpochMemo, type Epoch } from './hot-reads.js';

describe('EpochMemo', () => {
  it('answers from memory until the epoch moves, then loads again', async () => {
    let epoch: Epoch = { ticket: 1, value: 'a' };
    let loads = 0;
    const memo = new EpochMemo(() => epoch);
    const load = () => ({ n: ++loads, nested: { list: [1] } });
    const first = await memo.get('k', load);
    expect(await memo.get('k', load)).toBe(first);
    expect(loads).toBe(1);
    epoch = { ticket: 2, value: 'b' };
    expect((await memo.get('k', load)).n).toBe(2);
  });

  it('freezes what it remembers, all the way down', async () => {
    const memo = new EpochMemo(() => ({ ticket: 1, value: 1 }));
    const answer = await memo.get('k', () => ({ tags: { a: '1' }, files: [{ path: 'x' }] }));
    expect(() => { (answer.tags as Record<string, string>).b = '2'; }).toThrow(TypeError);
    expect(() => { answer.files.push({ path: 'y' }); }).toThrow(TypeError);
  });

  it('keeps nothing loaded under an epoch that moved meanwhile, and never goes back to an older one', async () => {
    let epoch: Epoch = { ticket: 1, value: 'a' };
    let loads = 0;
    const memo = new EpochMemo(async () => epoch);
    // The epoch moves while the load is under way: its answer is returned, not remembered.
    await memo.get('k', async () => { epoch = { ticket: 2, value: 'b' }; await memo.get('other', () => 0); return ++loads; });
    expect(await memo.get('k', () => ++loads)).toBe(2);
    expect(await memo.get('k', () => ++loads)).toBe(2);
    // A read of the epoch that was sent earlier but answered late loads afresh and drops nothing.
    epoch = { ticket: 1, value: 'a' };
    expect(await memo.get('k', () => ++loads)).toBe(3);
    epoch = { ticket: 2, value: 'b' };
    expect(await memo.get('k', () => ++loads)).toBe(2);
  });

  it('starts over rather than hold more than its byte bound', async () => {
    let loads = 0;
    const memo = new EpochMemo(() => ({ ticket: 1, value: 1 }));
    const card = 'x'.repeat(1_000_000); // a model card may be a megabyte
    for (let i = 0; i < 100; i++) await memo.get(`k${i}`, () => ({ card: card + i, n: ++loads }));
    // 100 MB asked for, 64 MB allowed: the first answers were dropped and load again.
    expect((await memo.get('k0', () => ({ card: '', n: ++loads }))).n).toBe(101);
    expect((await memo.get('k99', () => ({ card: '', n: ++loads }))).n).toBe(100);
  });

  it('counts its keys and keeps none longer than a name could be', async () => {
    let loads = 0;
    const memo = new EpochMemo(() => ({ ticket: 1, value: 1 }));
    const long = 'm'.repeat(100_000); // a lookup of a name no model has: the key is the request's text
    await memo.get(long, () => (++loads, null));
    await memo.get(long, () => (++loads, null));
    expect(loads).toBe(2);
  });

  it('runs a lookup that brings its own epoch without reading the epoch first, and checks it once remembered', async () => {
    let epoch: Epoch = { ticket: 1, value: 'a' };
    let epochReads = 0;
    let loads = 0;
    const memo = new EpochMemo(() => (epochReads++, epoch));
    const load = () => ({ value: ++loads, epoch });
    expect(await memo.lookup('k', load)).toBe(1);
    expect(epochReads).toBe(0);
    expect(await memo.lookup('k', load)).toBe(1);
    expect(epochReads).toBe(1);
    // A commit: the remembered answer is checked, found old, and read again.
    epoch = { ticket: 2, value: 'b' };
    expect(await memo.lookup('k', load)).toBe(2);
    // A lookup under the new epoch drops what was remembered under the old one.
    epoch = { ticket: 3, value: 'c' };
    expect(await memo.lookup('other', load)).toBe(3);
    expect(await memo.lookup('k', load)).toBe(4);
  });

  it('answers, but does not keep, a lookup read under an older epoch than the one in force', async () => {
    let loads = 0;
    const memo = new EpochMemo(() => ({ ticket: 5, value: 'new' }));
    expect(await memo.lookup('k', () => ({ value: ++loads, epoch: { ticket: 5, value: 'new' } }))).toBe(1);
    // Sent before the lookup above, answered after it.
    expect(await memo.lookup('late', () => ({ value: ++loads, epoch: { ticket: 4, value: 'old' } }))).toBe(2);
    expect(await memo.lookup('k', () => ({ value: ++loads, epoch: { ticket: 6, value: 'new' } }))).toBe(1);
    expect(await memo.lookup('late', () => ({ value: ++loads, epoch: { ticket: 7, value: 'new' } }))).toBe(3);
  });
});
