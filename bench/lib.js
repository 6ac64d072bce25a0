// Shared by the bench scripts: start a server process and wait until it listens; a PostgreSQL
// schema of its own for a bench run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

/**
 * The flags `npm start` gives Node (package.json, written `--name=value`): every server a
 * bench starts runs with them, as a deployment does, the bare Fastify baselines included.
 */
export const NODE_FLAGS = (() => {
  const start = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json's start script does not run node: ${start}`);
  const flags = [];
  for (const word of words.slice(1)) {
    if (!word.startsWith('-')) break;
    flags.push(word);
  }
  return flags;
})();

/** Servers still running: a bench that fails half-way must not leave them behind. */
const running = new Set();
process.on('exit', () => { for (const child of running) child.kill('SIGKILL'); });

/** Stops every server this process started that is still running. */
export async function stopAllServers() {
  await Promise.all([...running].map((child) => stopServer({ child })));
}

/** Spawns `node <NODE_FLAGS> <args>` and resolves with its URL once it prints "listening on <url>". */
export function spawnServer(args, env = {}) {
  const child = spawn('node', [...NODE_FLAGS, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MODELGATE_LOG_LEVEL: 'warn', ...env } });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ url: match[1], child });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** Stops a spawned server and waits for it to exit. */
export function stopServer(server) {
  return new Promise((resolve) => {
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
  });
}

/** Creates (afresh) schema `name` in the database at `base`; returns a URL whose connections use it. */
export async function pgSchema(base, name) {
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`drop schema if exists ${name} cascade`);
  await admin.query(`create schema ${name}`);
  await admin.end();
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${name}`)}`;
}

/** Drops schema `name`, ignoring a database that is gone. */
export async function dropSchema(base, name) {
  const admin = new pg.Client({ connectionString: base });
  await admin.connect().then(() => admin.query(`drop schema if exists ${name} cascade`)).then(() => admin.end()).catch(() => {});
}
