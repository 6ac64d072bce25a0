// The web UI's models page at 10,000 models: how long one page of each server-side filter
// takes, against GET /healthz in the same run (the cost of an authenticated round trip).
// Usage: node bench/models-list.js [models=10000]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelgateClient } from '../dist/sdk/client.js';
import { spawnServer, stopServer } from './lib.js';

const COUNT = Number(process.argv[2] ?? 10_000);
const dataDir = await mkdtemp(join(tmpdir(), 'modelgate-bench-list-'));
const server = await spawnServer(['bin/modelgate.js', 'serve', '--port', '0', '--data-dir', dataDir]);
const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
const client = new ModelgateClient({ url: server.url, token });
const TIERS = ['low', 'medium', 'high', 'critical'];
await client.createUser({ username: 'rita', role: 'approver' });
const rita = new ModelgateClient({ url: server.url, token: (await client.createToken({ username: 'rita', name: 'bench' })).token });

try {
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < COUNT) {
      const i = next++;
      const name = `${['fraud', 'credit', 'churn', 'pricing', 'search'][i % 5]}-model-${String(i).padStart(5, '0')}`;
      await client.createModel({ name, risk_tier: TIERS[i % 4], tags: { team: `team-${i % 20}` } });
      // One model in 50 has a version in production.
      if (i % 50 === 0) {
        const blob = await client.uploadBlob(new TextEncoder().encode(`weights ${i}`));
        await client.createVersion(name, { files: [{ path: 'm.bin', digest: blob.digest, size: blob.size }] });
        const promotion = await client.promote(name, 1, { target: 'production', reason: 'bench' });
        await rita.approve(promotion.id);
      }
    }
  }));
  console.log(`seeded ${COUNT} models in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const time = async (fn, runs = 50) => {
    for (let i = 0; i < 5; i++) await fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) await fn();
    return Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  };
  const baseline = await time(() => fetch(`${server.url}/healthz`).then((r) => r.text()));
  // The deepest page the UI can reach by clicking Next: the token of page 200.
  let deep;
  for (let p = 0, token2; p < 200; p++) {
    const page = await client.listModels({ page_size: 25, page_token: token2 });
    token2 = page.next_page_token;
    deep = token2;
  }
  const cases = [
    ['first page, by name', () => client.listModels({ page_size: 25 })],
    ['page 200, by name', () => client.listModels({ page_size: 25, page_token: deep })],
    ['name prefix "pricing-model-07"', () => client.listModels({ page_size: 25, name_prefix: 'pricing-model-07' })],
    ['risk tier critical', () => client.listModels({ page_size: 25, risk_tier: 'critical' })],
    ['tag team=team-7', () => client.listModels({ page_size: 25, tag: ['team=team-7'] })],
    ['with a version in production (1 in 50)', () => client.listModels({ page_size: 25, stage: 'production' })],
    ['recently updated', () => client.listModels({ page_size: 25, sort: 'updated_at' })],
  ];
  console.log(`GET /healthz: ${baseline.toFixed(2)} ms (baseline)`);
  for (const [label, fn] of cases) {
    const ms = await time(fn);
    console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(7)} ms  ${(ms / baseline).toFixed(1).padStart(5)}x baseline`);
  }
} finally {
  await stopServer(server);
  await rm(dataDir, { recursive: true, force: true });
}
