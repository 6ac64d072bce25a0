/** The backup and restore procedure of docs/deploy.md, run end to end by its script. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DIALECTS, POSTGRES_URL } from './helpers/harness.js';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'backup-restore-check.mjs');

describe.each(DIALECTS)('backup, wipe, restore ($name)', ({ name }) => {
  it('restores every version and blob, with the audit chain verifying to the same head', async () => {
    const args = name === 'postgres' ? ['--postgres', POSTGRES_URL!] : [];
    const { stdout } = await run('node', [SCRIPT, ...args], { timeout: 120_000 });
    expect(stdout).not.toMatch(/PROBLEM/);
    expect(stdout).toMatch(/audit chain: 20 entries, head [0-9a-f]{16}\.\.\., verified true/);
    expect(stdout.trim().split('\n').at(-1)).toBe('backup-restore-check: OK');
  }, 150_000);
});
