import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelgate-serve-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs `modelgate serve` expecting it to refuse to start; returns its exit code and stderr. */
async function refuses(args: string[], env: Record<string, string> = {}) {
  try {
    await run('node', [BIN, 'serve', ...args], { env: { ...process.env, ...env }, timeout: 20_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error('serve started although it should have refused');
}

describe('modelgate serve', () => {
  it('prints the one-time admin token on first start, listens, and stops on SIGTERM', async () => {
    const dir = await tempDir();
    const child = spawn('node', [BIN, 'serve', '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/modelgate listening on/.test(out)) { clearTimeout(timer); resolve(); }
      });
    });
    const token = /^admin token: (mgt_\S+)$/m.exec(out)![1]!;
    expect((await readFile(join(dir, 'admin-token'), 'utf8')).trim()).toBe(token);
    const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    const me = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ username: 'admin', role: 'admin' });
    expect((await stat(join(dir, 'modelgate.db'))).isFile()).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('stops on a bad flag with one clear line and no stack trace', async () => {
    const dir = await tempDir();
    for (const [args, env, pattern] of [
      [['--port', 'eighty', '--data-dir', dir], {}, /--port must be 0-65535/],
      [['--data-dir', dir], { MODELGATE_PORT: '70000' }, /--port must be 0-65535/],
      [['--database', 'mysql://x/y', '--data-dir', dir], {}, /SQLite file path or a postgres:\/\/ URL/],
      [['--database', 'postgres://nobody@127.0.0.1:1/none', '--data-dir', dir], {}, /cannot reach the database .* connection refused/],
      [['--max-blob-size', 'lots', '--data-dir', dir], {}, /size "lots"/],
    ] as [string[], Record<string, string>, RegExp][]) {
      const { code, stderr } = await refuses(args, env);
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(pattern);
      expect(stderr).not.toMatch(/\s+at .+:\d+:\d+/);
    }
  });
});
