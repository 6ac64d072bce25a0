/**
 * Printing results. People get aligned tables and key-value blocks; `--json` gets the API's
 * JSON untouched, so scripts see exactly the documented field names.
 */

type Cell = string | number | boolean | null | undefined;

/** Prints `value` as JSON when asked to, else runs the human-readable printer. */
export function emit(ctx: { json: boolean }, value: unknown, human: () => void): void {
  if (ctx.json) printJson(value);
  else human();
}

/** Pretty-printed JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** An aligned table with upper-case headers; empty cells show as `-`. */
export function printTable(headers: string[], rows: Cell[][]): void {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  for (const row of cells) {
    // The last column is not padded, so lines carry no trailing spaces.
    const line = row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
    process.stdout.write(line.trimEnd() + '\n');
  }
}

/** A key-value block: `key:  value`, keys aligned, continuation lines indented under the value. */
export function printFields(fields: [string, Cell][]): void {
  const width = Math.max(...fields.map(([key]) => key.length)) + 2;
  for (const [key, value] of fields) {
    const lines = (value === null || value === undefined || value === '' ? '-' : String(value)).split('\n');
    process.stdout.write(`${`${key}:`.padEnd(width)}${lines.join('\n' + ' '.repeat(width))}\n`);
  }
}

/** Says on stderr how to fetch the next page, so stdout stays a clean table. */
export function notePage(nextPageToken: string | null | undefined): void {
  if (nextPageToken) process.stderr.write(`more results: add --page-token ${nextPageToken}\n`);
}

/** `k=v, k2=v2`, sorted by key, for tags, params and metrics. */
export function formatMap(map: Record<string, unknown> | null | undefined): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

/** 1536 → `1.5 KiB`; exact bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** ISO time without milliseconds, readable in a table: `2026-11-26 10:04:05Z`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Cuts long free text so one row stays one line. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

function cell(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/[\r\n\t]+/g, ' ');
}
