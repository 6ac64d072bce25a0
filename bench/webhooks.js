#!/usr/bin/env node
// Webhook delivery: throughput and end-to-end latency from commit (the 201 of a version
// create) to receipt by a loopback receiver, with one server process on SQLite. Prints a
// table and writes bench/results/webhooks.json. Usage: node bench/webhooks.js [--events 1000]
import { createServer } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnServer, stopServer } from './lib.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000' }, models: { type: 'string', default: '10' } } });
const total = Number(values.events);
const modelCount = Number(values.models);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  const received = new Map();
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString());
      if (event.type === 'version.created') received.set(`${event.subject}/${event.data.version.version}`, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

  const dir = await mkdtemp(join(tmpdir(), 'modelgate-bench-hooks-'));
  const bin = join(import.meta.dirname, '..', 'bin', 'modelgate.js');
  const server = await spawnServer([bin, 'serve', '--port', '0', '--data-dir', dir, '--allow-webhook-hosts', '127.0.0.1', '--rate-limit', '0']);
  const token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const post = async (path, body) => {
    const res = await fetch(server.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await post('/api/v1/webhooks', { url: hookUrl, events: ['version.created'] });
  const models = Array.from({ length: modelCount }, (_, i) => `hooked-${i}`);
  for (const name of models) await post('/api/v1/models', { name });

  const committed = new Map();
  const started = performance.now();
  let next = 0;
  // Ten writers, like a burst of training pipelines registering versions at once.
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < total) {
      const model = models[next++ % modelCount];
      const version = await post(`/api/v1/models/${model}/versions`, { source_uri: 's3://b/m', digest: `sha256:${'a'.repeat(64)}` });
      committed.set(`${model}/${version.version}`, performance.now());
    }
  }));
  const writesDone = performance.now();
  const deadline = Date.now() + 120_000;
  while (received.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const lastReceipt = Math.max(...received.values());
  const latencies = [...committed].filter(([k]) => received.has(k)).map(([k, t]) => received.get(k) - t).sort((a, b) => a - b);

  const result = {
    date: new Date().toISOString(),
    events: total,
    delivered: received.size,
    writes_per_s: Math.round(total / ((writesDone - started) / 1000)),
    deliveries_per_s: Math.round(received.size / ((lastReceipt - started) / 1000)),
    latency_ms: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies[latencies.length - 1]) },
  };
  console.log(`\nmodelgate webhook bench: ${total} version creates over ${modelCount} models by 10 writers, one webhook, SQLite\n`);
  console.log(`delivered            ${result.delivered}/${total}`);
  console.log(`version creates/s    ${result.writes_per_s}`);
  console.log(`deliveries/s         ${result.deliveries_per_s}`);
  console.log(`commit -> receipt    p50 ${result.latency_ms.p50} ms   p99 ${result.latency_ms.p99} ms   max ${result.latency_ms.max} ms`);
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'webhooks.json'), JSON.stringify(result, null, 2));
  server.child.kill('SIGTERM');
  receiver.close();
  await new Promise((r) => setTimeout(r, 300));
  await rm(dir, { recursive: true, force: true });
}

await main();
