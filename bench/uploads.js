#!/usr/bin/env node
// Artifact throughput: a 1 GiB file uploaded in one request and as a resumable session of
// parallel parts, and downloaded, each next to `dd conv=fsync` copying the same file on the
// same disk in the same run (the baseline). The server hashes and fsyncs everything it
// stores. Also samples the server's RSS to show memory stays flat whatever the size.
// Usage: node bench/uploads.js [--size-mib 1024] [--dir /path/on/the/disk/to/measure]
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelgateClient } from '../dist/sdk/client.js';
import { spawnServer, stopServer } from './lib.js';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, dir: { type: 'string' } } });
const MiB = 1024 * 1024;
const size = Number(values['size-mib']) * MiB;

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** Samples a process's RSS every 50 ms while `work` runs; returns the work's seconds and the peak. */
async function measured(pid, work) {
  let peak = await rssMb(pid);
  const timer = setInterval(() => { rssMb(pid).then((r) => { peak = Math.max(peak, r); }, () => {}); }, 50);
  const started = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakMb: Math.max(peak, await rssMb(pid)) };
}

async function main() {
  const root = await mkdtemp(join(values.dir ?? tmpdir(), 'modelgate-bench-uploads-'));
  const source = join(root, 'weights.bin');
  // Random bytes (not zeros): nothing on the way can compress them.
  const file = await open(source, 'w');
  for (let written = 0; written < size; written += 16 * MiB) await file.write(randomBytes(Math.min(16 * MiB, size - written)));
  await file.close();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(source, { highWaterMark: 4 * MiB })) hash.update(chunk);
  const hex = hash.digest('hex');

  // Baseline: dd copying the same (cached) file onto the same disk with fsync at the end, run
  // right before and right after each figure (this disk's speed drifts by 2x within minutes).
  // Dirty pages of whatever ran before are flushed first, so no figure pays for another's
  // writeback (the first dd used to pay for writing the 1 GiB source file: half speed).
  const settle = () => execFileSync('sync');
  const dd = async () => {
    settle();
    const ddStart = process.hrtime.bigint();
    execFileSync('dd', [`if=${source}`, `of=${join(root, 'dd-copy')}`, 'bs=1M', 'conv=fsync'], { stdio: 'ignore' });
    const seconds = Number(process.hrtime.bigint() - ddStart) / 1e9;
    await rm(join(root, 'dd-copy'));
    return seconds;
  };
  const beside = async (work) => {
    const before = await dd();
    settle();
    const result = await work();
    const after = await dd();
    return { ...result, ddMbps: (2 * size) / MiB / (before + after) };
  };

  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  const server = await spawnServer(['bin/modelgate.js', 'serve', '--port', '0', '--data-dir', dataDir, '--gc-interval', '0', '--rate-limit', '0']);
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const client = new ModelgateClient({ url: server.url, token });
  const pid = server.child.pid;
  const idleMb = await rssMb(pid);
  const rows = [];
  const row = (name, seconds, peakMb, baseline) => {
    const mbps = size / MiB / seconds;
    rows.push({ measurement: name, mib_per_s: Math.round(mbps), dd_mib_per_s: Math.round(baseline), ratio: +(mbps / baseline).toFixed(2), peak_rss_growth_mb: Math.round(peakMb - idleMb) });
  };
  try {
    const single = await beside(() => measured(pid, async () => {
      const blob = await client.uploadBlob(createReadStream(source, { highWaterMark: MiB }), { sha256: hex, size });
      if (blob.digest !== `sha256:${hex}`) throw new Error('wrong digest');
    }));
    row('upload, one request (hash + fsync)', single.seconds, single.peakMb, single.ddMbps);

    await rm(join(dataDir, 'blobs', 'sha256'), { recursive: true, force: true });
    await mkdir(join(dataDir, 'blobs', 'sha256'));
    await client.collectGarbage({ grace_seconds: 0 }); // forget the blob record too
    const handle = await open(source, 'r');
    const parts = await beside(() => measured(pid, async () => {
      await client.uploadResumable({
        size, sha256: hex, parallel: 4,
        // As the CLI does: each sender reads its parts into the one buffer it is handed.
        readPart: async (start, end, into) => {
          const buffer = into.subarray(0, end - start);
          await handle.read(buffer, 0, buffer.length, start);
          return buffer;
        },
      });
    }));
    await handle.close();
    row('upload, resumable session, 4 parallel 8 MiB parts', parts.seconds, parts.peakMb, parts.ddMbps);

    const download = await beside(() => measured(pid, async () => {
      const response = await client.openBlob(`sha256:${hex}`);
      const check = createHash('sha256');
      for await (const chunk of response.body) check.update(chunk);
      if (check.digest('hex') !== hex) throw new Error('download digest mismatch');
    }));
    row('download, streamed and verified by the client', download.seconds, download.peakMb, download.ddMbps);
  } finally {
    await stopServer(server);
    await rm(root, { recursive: true, force: true });
  }
  console.log(`\nartifact throughput: ${size / MiB} MiB file, each next to dd conv=fsync run just before and after it; server idle RSS ${Math.round(idleMb)} MB`);
  console.table(rows);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/uploads.json', JSON.stringify({ at: new Date().toISOString(), size_mib: size / MiB, idle_rss_mb: idleMb, rows }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
