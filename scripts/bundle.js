#!/usr/bin/env node
// `npm run build`, after tsc: bundles the CLI and the server (dist/cli/index.js and everything it
// imports) into dist/bundle/, which bin/modelgate.js runs. Loading some 1,000 module files one by
// one was most of the server's start-up (resolving, reading and compiling each: 0.7 of 1.2 s).
//
// - Lazily imported parts stay lazy (code splitting): the server for `serve` only, the
//   PostgreSQL driver for a PostgreSQL URL, the S3 store for a bucket.
// - Left out, loaded from node_modules at run time: better-sqlite3 and @node-rs/crc32 (native
//   addons found by path) and the AWS SDK (large, and needed only with S3).
// - dist/bundle/ sits two levels below the package like dist/cli/ and dist/server/, so the
//   paths those modules compute from import.meta.url (package.json, dist/web) stay right.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Not import.meta.dirname: `npm install` runs this, and Node 20 has it only from 20.11.
const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'bundle');
await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/index.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', '@node-rs/*', '@aws-sdk/*', 'pg-native'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __modelgateRequire } from 'node:module'; const require = __modelgateRequire(import.meta.url);" },
  logLevel: 'warning',
});
