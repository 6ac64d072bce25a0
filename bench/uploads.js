#!/usr/bin/env node
// Artifact throughput: a 1 GiB file uploaded in one request and as a resumable session of
// parallel parts, and downloaded, each next to `dd conv=fsync` copying the same file on the
// same disk in the same run (the baseline), and against a plain Fastify route storing the same
// upload with sha256 and fsync (`bare-server.js --sink-dir`). The server hashes and fsyncs
// everything it stores. Also samples the server's RSS to show memory stays flat whatever the
// size, and the CPU time of the server and of the client. Needs about 4 GiB of disk.
// Usage: node bench/uploads.js [--size-mib 1024] [--dir /path/on/the/disk/to/measure]
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

/** A process's CPU time so far (user + system), in seconds. */
async function cpuSeconds(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime, in clock ticks
}

/**
 * Samples a server's RSS every 50 ms while `work` runs; returns the work's seconds, the peak,
 * and the CPU seconds the server and this process (the client) spent on it.
 */
async function measured(pid, work) {
  let peak = await rssMb(pid);
  const timer = setInterval(() => { rssMb(pid).then((r) => { peak = Math.max(peak, r); }, () => {}); }, 50);
  const serverCpu = await cpuSeconds(pid);
  const clientCpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = process.cpuUsage(clientCpu);
  return {
    seconds, peakMb: Math.max(peak, await rssMb(pid)),
    serverCpu: (await cpuSeconds(pid)) - serverCpu, clientCpu: (client.user + client.system) / 1e6,
  };
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

  // The baseline: dd copying the same (cached) file onto the same disk with fsync at the end,
  // right before and right after each figure. Every timed write, dd's or a server's, starts
  // after the same preparation: what ran before is synced, and the bytes the previous timed
  // write left were just deleted (or a spare file of the same size was). That matters on a
  // disk whose speed depends on where the bytes land: on this machine's virtual disk (ext4,
  // `discard`) a write into space just freed ran at 800-1,100 MiB/s and one into space not
  // written lately at 350-390, so a baseline and a figure that got different space were not
  // comparable. What was freed shows too: in one run a dd into the space of a deleted dd copy
  // or spare ran at 1,150-1,230 MiB/s, one into the space of a deleted upload at 420-820. So
  // each upload's own file is what is deleted before the dd after it (`dd_before_after`
  // shows the pair); the session's row used to delete a spare instead, and so had the fastest
  // baseline of the run.
  const settle = () => execFileSync('sync');
  const spares = [];
  const freeSpare = async () => {
    await rm(spares.pop());
    settle();
  };
  const dd = async () => {
    const ddStart = process.hrtime.bigint();
    execFileSync('dd', [`if=${source}`, `of=${join(root, 'dd-copy')}`, 'bs=1M', 'conv=fsync'], { stdio: 'ignore' });
    const seconds = Number(process.hrtime.bigint() - ddStart) / 1e9;
    await rm(join(root, 'dd-copy'));
    settle();
    return seconds;
  };
  /** dd, the work, `free` (deletes what the work wrote, or a spare, and syncs), dd again. */
  const beside = async (work, free) => {
    const before = await dd();
    const result = await work();
    await free();
    const after = await dd();
    return { ...result, ddMbps: (2 * size) / MiB / (before + after), ddPair: `${Math.round(size / MiB / before)}/${Math.round(size / MiB / after)}` };
  };

  // What the stack's usual pieces make of one upload: a plain Fastify route piping the body
  // through sha256 into a file write stream and fsyncing it, sent the file by node:http.
  const sink = join(root, 'sink');
  await mkdir(sink);
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  const rows = [];
  let stackMbps;
  /** `vsStack`: an upload, compared with the plain route's (the first row). */
  const row = (name, result, idle, vsStack = true) => {
    const mbps = size / MiB / result.seconds;
    stackMbps ??= mbps;
    rows.push({
      measurement: name, mib_per_s: Math.round(mbps), dd_mib_per_s: Math.round(result.ddMbps), dd_before_after: result.ddPair, ratio: +(mbps / result.ddMbps).toFixed(2),
      stack_ratio: vsStack ? +(mbps / stackMbps).toFixed(2) : null,
      server_cpu_s: +result.serverCpu.toFixed(2), client_cpu_s: +result.clientCpu.toFixed(2), peak_rss_growth_mb: Math.round(result.peakMb - idle),
    });
  };
  let bare;
  let server;
  let idleMb;
  try {
    // Spare files to delete where a timed write has nothing of its own to free before it.
    for (let i = 0; i < 2; i++) {
      spares.push(join(root, `spare-${i}`));
      execFileSync('dd', [`if=${source}`, `of=${spares[i]}`, 'bs=1M', 'conv=fsync'], { stdio: 'ignore' });
    }
    await freeSpare();
    bare = await spawnServer(['bench/bare-server.js', '--sink-dir', sink]);
    server = await spawnServer(['bin/modelgate.js', 'serve', '--port', '0', '--data-dir', dataDir, '--gc-interval', '0', '--rate-limit', '0']);
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const client = new ModelgateClient({ url: server.url, token });
    const pid = server.child.pid;
    idleMb = await rssMb(pid);
    const bareIdle = await rssMb(bare.child.pid);
    const stack = await beside(() => measured(bare.child.pid, async () => {
      const answer = await sendFile(`${bare.url}/sink`, source, size);
      if (answer.sha256 !== hex) throw new Error('wrong digest from the bare server');
    }), async () => {
      await rm(sink, { recursive: true });
      settle();
    });
    row('plain Fastify route + node:http client, one request (hash + fsync)', stack, bareIdle);

    const forgetBlob = async () => {
      await rm(join(dataDir, 'blobs', 'sha256'), { recursive: true, force: true });
      await mkdir(join(dataDir, 'blobs', 'sha256'));
      await client.collectGarbage({ grace_seconds: 0 }); // forget the blob record too
      settle();
    };
    const single = await beside(() => measured(pid, async () => {
      const blob = await client.uploadBlob(createReadStream(source, { highWaterMark: MiB }), { sha256: hex, size });
      if (blob.digest !== `sha256:${hex}`) throw new Error('wrong digest');
    }), forgetBlob);
    row('upload, one request (hash + fsync)', single, idleMb);

    const handle = await open(source, 'r');
    let partMib; // the server's default part size, which the SDK asks for when it is not given one
    const parts = await beside(() => measured(pid, async () => {
      await client.uploadResumable({
        size, sha256: hex, parallel: 4,
        // As the CLI does: each sender reads its parts into the one buffer it is handed.
        readPart: async (start, end, into) => {
          partMib ??= into.length / MiB;
          const buffer = into.subarray(0, end - start);
          await handle.read(buffer, 0, buffer.length, start);
          return buffer;
        },
      });
    }), forgetBlob);
    await handle.close();
    row(`upload, resumable session, 4 parallel ${partMib} MiB parts`, parts, idleMb);

    // The blob again, untimed, for the download; then the preparation every timed row has.
    await client.uploadBlob(createReadStream(source, { highWaterMark: MiB }), { sha256: hex, size });
    await freeSpare();

    const download = await beside(() => measured(pid, async () => {
      // As `modelgate download` reads a file: the SDK's stream of the bytes as they arrive,
      // hashed on a worker thread; it throws DIGEST_MISMATCH at the end if they are not the blob.
      const { body } = await client.readVerifiedBlob(`sha256:${hex}`);
      for await (const chunk of body) void chunk;
    }), async () => settle());
    row('download, streamed and verified by the client', download, idleMb, false);
  } finally {
    if (server) await stopServer(server);
    if (bare) await stopServer(bare);
    await rm(root, { recursive: true, force: true });
  }
  console.log(`\nartifact throughput: ${size / MiB} MiB file, each next to dd conv=fsync run just before and after it (ratio), and against the plain Fastify route's upload (stack_ratio); CPU seconds of the server and of this process, the client; server idle RSS ${Math.round(idleMb)} MB`);
  console.table(rows);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/uploads.json', JSON.stringify({ at: new Date().toISOString(), size_mib: size / MiB, idle_rss_mb: idleMb, rows }, null, 2));
}

/** PUTs a file with a bare node:http client; resolves with the parsed JSON answer. */
function sendFile(url, path, length) {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': length } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`bare server answered ${response.statusCode}: ${text}`))));
    });
    request.on('error', reject);
    pipeline(createReadStream(path, { highWaterMark: MiB }), request).catch(reject);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
