/**
 * A one-line progress bar on stderr: bytes done/total, percent, rate and time left, redrawn with `\r`.
 * It draws only when stderr is a terminal, so logs and pipes never fill with redraws.
 */
import { formatBytes } from './output.js';

const REDRAW_MS = 100;

export class Progress {
  private done = 0;
  private skipped = 0;
  private label = '';
  private lastDraw = 0;
  private readonly started = Date.now();
  private readonly enabled: boolean;
  private readonly barWidth: number;

  /** `total` is the number of bytes the whole operation will move. */
  constructor(
    private readonly verb: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
    // Fixed for the whole run, so the bar does not jump as the numbers beside it grow.
    this.barWidth = Math.max(10, Math.min(30, (stream.columns || 80) - 70));
  }

  /** Names the file being worked on; shown before the bar. */
  setLabel(label: string): void {
    this.label = label;
    this.draw(false);
  }

  /** Counts bytes that were already done before this run (a resumed upload): not part of the rate. */
  skip(bytes: number): void {
    this.done += bytes;
    this.skipped += bytes;
    this.draw(false);
  }

  /** Records more bytes done; redraws at most every 100 ms. */
  advance(bytes: number): void {
    this.done += bytes;
    this.draw(false);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.enabled) return;
    this.label = '';
    this.draw(true);
    this.stream.write('\n');
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = (this.done - this.skipped) / seconds;
    const left = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const eta = force ? `${formatDuration(seconds)}` : Number.isFinite(left) ? `ETA ${formatDuration(left)}` : 'ETA --';
    const stats = `${formatBytes(this.done)} / ${formatBytes(this.total)}  ${Math.floor(fraction * 100)}%  ${formatBytes(rate)}/s  ${eta}`;
    const columns = this.stream.columns || 80;
    const filled = Math.round(fraction * this.barWidth);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(this.barWidth - filled)}]`;
    const head = this.label ? `${this.verb} ${this.label}` : this.verb;
    // Keep the whole line narrower than the terminal, or it wraps and \r cannot redraw it.
    const room = Math.max(8, columns - bar.length - stats.length - 6);
    const shown = head.length > room ? '…' + head.slice(head.length - room + 1) : head;
    // \x1b[K clears what a longer previous line left behind.
    this.stream.write(`\r${shown}  ${bar}  ${stats}\x1b[K`);
  }
}

/** `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
