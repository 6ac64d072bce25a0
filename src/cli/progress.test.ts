import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatDuration } from './progress.js';

/** A fake terminal: what the bar writes, as text. */
function terminal(isTTY: boolean) {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string };
  let text = '';
  (stream as unknown as PassThrough).on('data', (c) => { text += c; });
  Object.assign(stream, { isTTY, columns: 120, text: () => text });
  return stream;
}

describe('upload progress', () => {
  it('shows bytes, percent, rate and time left on a terminal, and the elapsed time at the end', async () => {
    const tty = terminal(true);
    const bar = new Progress('uploading', 100 * 1024 * 1024, tty);
    bar.skip(50 * 1024 * 1024); // the part a resumed upload already had: not counted in the rate
    await new Promise((r) => setTimeout(r, 120));
    bar.advance(10 * 1024 * 1024);
    const line = tty.text().split('\r').at(-1)!;
    expect(line).toMatch(/60\.0 MiB \/ 100\.0 MiB {2}60% {2}[\d.]+ MiB\/s {2}ETA \d+s/);
    bar.finish();
    expect(tty.text().endsWith('\n')).toBe(true);
  });

  it('draws nothing when stderr is not a terminal', () => {
    const pipe = terminal(false);
    const bar = new Progress('uploading', 10, pipe);
    bar.advance(5);
    bar.finish();
    expect(pipe.text()).toBe('');
  });

  it('formats durations for people', () => {
    expect([formatDuration(42), formatDuration(185), formatDuration(3720)]).toEqual(['42s', '3m05s', '1h02m']);
  });
});
