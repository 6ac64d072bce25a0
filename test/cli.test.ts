/**
 * The built `modelgate` CLI, run as a user runs it (`node bin/modelgate.js ...`), against the
 * real server on SQLite. HOME and XDG_CONFIG_HOME point at a temporary directory, so the
 * stored login is the test's own. What the CLI did is checked through the SDK.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, Version } from '../src/sdk/client.js';
import { closedPortUrl, startTestServer, type TestServer } from './helpers/harness.js';
import { Receiver } from './helpers/receiver.js';

const BIN = fileURLToPath(new URL('../bin/modelgate.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const sha256 = (bytes: string | Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('modelgate CLI on sqlite', () => {
  let t: TestServer;
  let home: string;
  let configHome: string;

  /** Runs the CLI with a clean environment: only PATH, HOME, XDG_CONFIG_HOME and `env`. */
  function cli(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
    return new Promise((done) => {
      const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: configHome, ...options.env };
      const child = execFile(process.execPath, [BIN, ...args], { env, cwd: home }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      });
      // Close stdin, so `login` without --token reads exactly this (or nothing).
      child.stdin?.end(options.input ?? '');
    });
  }

  /** Runs the CLI and expects it to succeed, returning stdout. */
  async function ok(args: string[], options?: { env?: Record<string, string>; input?: string }): Promise<string> {
    const run = await cli(args, options);
    expect(run, `modelgate ${args.join(' ')}`).toMatchObject({ code: 0 });
    return run.stdout;
  }

  async function json<T>(args: string[], options?: { env?: Record<string, string> }): Promise<T> {
    return JSON.parse(await ok(['--json', ...args], options)) as T;
  }

  /** Creates a user and a token for them through the CLI, returning the token. */
  async function userToken(username: string, role: string): Promise<string> {
    await ok(['user', 'add', username, '--role', role]);
    return (await json<{ token: string }>(['token', 'create', '--user', username, '--name', 'test'])).token;
  }

  beforeAll(async () => {
    t = await startTestServer('sqlite', { allowWebhookHosts: '127.0.0.1', webhookRetryBaseMs: '40' });
    home = await mkdtemp(join(tmpdir(), 'modelgate-cli-'));
    configHome = join(home, 'config');
  });
  afterAll(async () => {
    await t?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('logs in with a token piped on stdin, stores it privately, and whoami uses it', async () => {
    const before = await cli(['whoami']);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('error: NOT_LOGGED_IN:');

    const bad = await cli(['login', '--server', t.url], { input: 'mgt_not-a-real-token\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: UNAUTHENTICATED:');
    await expect(stat(join(configHome, 'modelgate', 'config.json'))).rejects.toThrow();

    const login = await ok(['login', '--server', `${t.url}/`], { input: `${t.adminToken}\n` });
    expect(login).toContain('as admin (role admin)');
    const path = join(configHome, 'modelgate', 'config.json');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ server: t.url, token: t.adminToken });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(configHome, 'modelgate'))).mode & 0o777).toBe(0o700);

    const whoami = await ok(['whoami']);
    expect(whoami).toMatch(/^user:\s+admin$/m);
    expect(whoami).toMatch(/^role:\s+admin$/m);
    expect(await json(['whoami'])).toMatchObject({ username: 'admin', role: 'admin' });
  });

  it('creates, lists, shows and updates models', async () => {
    const created = await ok(['model', 'create', 'fraud-scorer', '--description', 'scores card fraud',
      '--tag', 'team=risk', '--tag', 'tier=1', '--risk-tier', 'high', '--intended-use', 'batch scoring']);
    expect(created).toMatch(/^name:\s+fraud-scorer$/m);
    await ok(['model', 'create', 'churn']);

    const table = await ok(['model', 'list']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+OWNER\s+RISK\s+TAGS/);
    expect(table).toMatch(/^fraud-scorer\s+admin\s+high\s+team=risk, tier=1/m);
    expect(table).toMatch(/^churn\s/m);
    const byTag = await json<{ models: { name: string }[] }>(['model', 'list', '--tag', 'team=risk']);
    expect(byTag.models.map((m) => m.name)).toEqual(['fraud-scorer']);
    const paged = await cli(['model', 'list', '--page-size', '1', '--sort', 'name']);
    expect(paged.stdout).toMatch(/^churn\s/m);
    expect(paged.stderr).toContain('--page-token ');

    const shown = await ok(['model', 'show', 'fraud-scorer']);
    expect(shown).toMatch(/^description:\s+scores card fraud$/m);
    expect(shown).toMatch(/^intended use:\s+batch scoring$/m);

    await ok(['model', 'update', 'fraud-scorer', '--untag', 'tier', '--tag', 'reviewed=yes', '--restrictions', 'not for credit decisions']);
    const model = await t.admin.getModel('fraud-scorer');
    expect(model.tags).toEqual({ team: 'risk', reviewed: 'yes' });
    expect(model.restrictions).toBe('not for credit decisions');

    const nothing = await cli(['model', 'update', 'fraud-scorer']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('error: USAGE:');
  });

  it('uploads a directory as a version, with paths relative to it and digests computed locally', async () => {
    const dir = join(home, 'artifacts');
    await mkdir(join(dir, 'sub'), { recursive: true });
    const weights = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    await writeFile(join(dir, 'model.onnx'), 'onnx-bytes');
    await writeFile(join(dir, 'sub', 'weights.bin'), weights);
    await writeFile(join(home, 'card.md'), '# Fraud scorer\n\nTrained on 2026 data.\n');
    const lineage = { datasets: [{ name: 'txns', version: '2026-11', role: 'train' }], code: { repo: 'git@example.com:risk/fraud', commit: 'abc123' } };
    await writeFile(join(home, 'lineage.json'), JSON.stringify(lineage));

    const out = await ok(['version', 'create', 'fraud-scorer', dir, '--metric', 'auc=0.93', '--metric', 'f1=0.8',
      '--param', 'lr=0.1', '--tag', 'data=2026-11', '--description', 'first cut', '--model-card', join(home, 'card.md'),
      '--lineage', join(home, 'lineage.json')]);
    expect(out).toMatch(/^version:\s+1$/m);
    expect(out).toMatch(/^files:\s+2 /m);

    const version = await t.admin.getVersion('fraud-scorer', 1);
    expect(version.files).toEqual([
      { path: 'model.onnx', digest: sha256('onnx-bytes'), size: 10 },
      { path: 'sub/weights.bin', digest: sha256(weights), size: 300_000 },
    ]);
    expect(version).toMatchObject({
      metrics: { auc: 0.93, f1: 0.8 }, params: { lr: '0.1' }, tags: { data: '2026-11' }, description: 'first cut',
      model_card: '# Fraud scorer\n\nTrained on 2026 data.\n',
      lineage,
    });
    // The bytes on the server are the file's bytes.
    expect(await t.admin.downloadBlob(sha256(weights))).toEqual(weights);

    // A single file keeps its base name.
    await ok(['version', 'create', 'churn', join(dir, 'sub', 'weights.bin')]);
    expect((await t.admin.getVersion('churn', 1)).files.map((f) => f.path)).toEqual(['weights.bin']);

    const bad = await cli(['version', 'create', 'fraud-scorer', dir, '--metric', 'auc=high']);
    expect(bad.code).toBe(2);
    const missing = await cli(['version', 'create', 'fraud-scorer', join(home, 'no-such-dir')]);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain('error: FILE_NOT_FOUND:');
    expect((await t.admin.listVersions('fraud-scorer')).versions).toHaveLength(1);
  });

  it('lists and shows versions, as tables and as the API JSON', async () => {
    const listed = await json<{ versions: Version[]; next_page_token: string | null }>(['version', 'list', 'fraud-scorer']);
    expect(listed).toEqual(await t.admin.listVersions('fraud-scorer'));
    const filtered = await json<{ versions: Version[] }>(['version', 'list', 'fraud-scorer', '--filter', 'metrics.auc >= 0.95']);
    expect(filtered.versions).toEqual([]);
    const table = await ok(['version', 'list', 'fraud-scorer', '--filter', 'metrics.auc >= 0.9']);
    expect(table).toMatch(/^1\s+development\s+-\s+auc=0.93, f1=0.8/m);

    expect(await json(['version', 'show', 'fraud-scorer', '1'])).toEqual(await t.admin.getVersion('fraud-scorer', 1));
    const shown = await ok(['version', 'show', 'fraud-scorer', '1']);
    expect(shown).toMatch(/^sub\/weights\.bin\s+293\.0 KiB\s+sha256:/m);
    expect(shown).toContain('dataset txns@2026-11 (train)');
    expect(shown).toContain('# Fraud scorer');

    await ok(['version', 'update', 'fraud-scorer', '1', '--description', 'first cut, reviewed', '--tag', 'reviewed=yes', '--untag', 'data']);
    expect(await t.admin.getVersion('fraud-scorer', 1)).toMatchObject({ description: 'first cut, reviewed', tags: { reviewed: 'yes' } });

    const notANumber = await cli(['version', 'show', 'fraud-scorer', 'one']);
    expect(notANumber.code).toBe(2);
  });

  it('promotes to production and resolves it, with file URLs that serve the bytes', async () => {
    const noReason = await cli(['promote', 'fraud-scorer', '1', 'production']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');

    const requested = await json<{ id: string; status: string }>(['promote', 'fraud-scorer', '1', 'production', '--reason', 'beats the baseline']);
    expect(requested.status).toBe('pending');
    const reviewer = await userToken('rita', 'approver');
    const inbox = await ok(['inbox'], { env: { MODELGATE_TOKEN: reviewer } });
    expect(inbox).toContain(requested.id);
    const approved = await ok(['approve', requested.id, '--comment', 'metrics checked'], { env: { MODELGATE_TOKEN: reviewer } });
    expect(approved).toMatch(/^status:\s+applied$/m);
    expect(approved).toContain('rita (approver)');
    expect((await t.admin.getVersion('fraud-scorer', 1)).stage).toBe('production');
    const history = await ok(['history', 'fraud-scorer']);
    expect(history).toMatch(/^1\s+.*\bnow\s+promotion\s+admin\s+rita\s+beats the baseline$/m);

    const resolved = await ok(['resolve', 'fraud-scorer']);
    expect(resolved).toMatch(/^version:\s+1$/m);
    expect(resolved).toMatch(/^stage:\s+production$/m);
    expect(resolved).toContain(`${t.url}/api/v1/blobs/${sha256('onnx-bytes')}`);
    const asJson = await json<{ version: number; files: { path: string; url: string }[] }>(['resolve', 'fraud-scorer', 'production']);
    expect(asJson).toEqual((await t.admin.resolve('fraud-scorer', 'production'))!.resolved);

    const outDir = join(home, 'download');
    await ok(['download', 'fraud-scorer', '--out', outDir]);
    expect(await readFile(join(outDir, 'model.onnx'), 'utf8')).toBe('onnx-bytes');
    expect(sha256(await readFile(join(outDir, 'sub', 'weights.bin')))).toBe((await t.admin.getVersion('fraud-scorer', 1)).files[1]!.digest);
    expect(await ok(['download', 'fraud-scorer', '1', '--out', outDir])).toContain('0 written, 2 already present');
  });

  it('sets and removes aliases', async () => {
    expect(await ok(['alias', 'set', 'fraud-scorer', 'champion', '1'])).toContain('@champion -> fraud-scorer version 1');
    expect((await t.admin.getVersion('fraud-scorer', 1)).aliases).toEqual(['champion']);
    expect(await json(['resolve', 'fraud-scorer', '@champion'])).toMatchObject({ version: 1, aliases: ['champion'] });

    await ok(['alias', 'rm', 'fraud-scorer', '@champion']);
    expect((await t.admin.getVersion('fraud-scorer', 1)).aliases).toEqual([]);
    const gone = await cli(['resolve', 'fraud-scorer', '@champion']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('error: ALIAS_NOT_FOUND:');
  });

  it('adds a user, creates a token shown once, and that token works through MODELGATE_TOKEN', async () => {
    expect(await ok(['user', 'add', 'ci-bot', '--role', 'contributor'])).toContain('created user ci-bot (role contributor)');
    expect(await ok(['user', 'list'])).toMatch(/^ci-bot\s+contributor\s/m);

    const created = await cli(['token', 'create', '--user', 'ci-bot', '--name', 'pipeline']);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('shown only once');
    const token = /^token:\s+(\S+)$/m.exec(created.stdout)?.[1];
    expect(token).toMatch(/^mgt_/);

    const env = { MODELGATE_TOKEN: token! };
    expect(await json(['whoami'], { env })).toMatchObject({ username: 'ci-bot', role: 'contributor' });
    await ok(['model', 'create', 'from-ci'], { env });
    expect((await t.admin.getModel('from-ci')).created_by).toBe('ci-bot');

    const tokens = await json<{ tokens: { id: string; name: string; revoked_at: string | null }[] }>(['token', 'list', '--user', 'ci-bot']);
    expect(tokens.tokens.map((x) => x.name)).toEqual(['pipeline']);
    await ok(['token', 'revoke', tokens.tokens[0]!.id]);
    const revoked = await cli(['whoami'], { env });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('error: UNAUTHENTICATED:');
  });

  it('reports failures with their code and a non-zero exit', async () => {
    const missing = await cli(['model', 'show', 'no-such-model']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^error: MODEL_NOT_FOUND: /m);

    // MODELGATE_URL overrides the stored server, and nothing listens there.
    const nowhere = await closedPortUrl();
    const unreachable = await cli(['whoami'], { env: { MODELGATE_URL: nowhere, MODELGATE_TOKEN: 'x' } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^error: UNREACHABLE: cannot reach .*ECONNREFUSED/m);

    const usage = await cli(['model', 'create']);
    expect(usage.code).toBe(2);
    const unknown = await cli(['model', 'list', '--no-such-option']);
    expect(unknown.code).toBe(2);
  });

  it("refuses a viewer's write with ROLE_REQUIRED and changes nothing", async () => {
    const env = { MODELGATE_TOKEN: await userToken('vera', 'viewer') };
    expect(await json(['model', 'show', 'fraud-scorer'], { env })).toMatchObject({ name: 'fraud-scorer' });

    const create = await cli(['model', 'create', 'viewer-model'], { env });
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/^error: ROLE_REQUIRED: /m);
    const upload = await cli(['version', 'create', 'fraud-scorer', join(home, 'artifacts')], { env });
    expect(upload.code).toBe(1);
    expect(upload.stderr).toMatch(/^error: ROLE_REQUIRED: /m);

    expect((await t.admin.listModels()).models.map((m) => m.name)).not.toContain('viewer-model');
    expect((await t.admin.listVersions('fraud-scorer')).versions).toHaveLength(1);
  });

  it('lists, verifies and exports the audit log, and exits 1 once it is tampered with', async () => {
    const listed = await json<{ entries: AuditEntry[] }>(['audit', 'list', '--resource', 'models/fraud-scorer']);
    expect(listed.entries.map((e) => e.action)).toContain('version.created');
    expect(listed.entries.every((e) => e.resource.startsWith('models/fraud-scorer'))).toBe(true);
    const table = await ok(['audit', 'list', '--action', 'model.*', '--actor', 'ci-bot']);
    expect(table).toMatch(/^\d+\s+\S+ \S+\s+ci-bot\s+model\.created\s+models\/from-ci$/m);

    const verified = await ok(['audit', 'verify']);
    expect(verified).toMatch(/^ok:\s+yes$/m);
    const { entries } = await t.admin.verifyAudit();

    const file = join(home, 'audit.jsonl');
    const exported = await cli(['audit', 'export', '--out', file]);
    expect(exported.stderr).toContain(`exported ${entries} entries`);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    expect(lines).toHaveLength(entries);
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.prev_hash).toBe(lines[i - 1]!.hash);
    const toStdout = await ok(['audit', 'export']);
    expect(toStdout.trimEnd().split('\n')).toHaveLength(entries);

    await t.sql(`update audit_log set actor = 'mallory' where seq = 3`);
    const broken = await cli(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^first bad seq:\s+3$/m);
    expect(broken.stderr).toMatch(/^error: AUDIT_CHAIN_BROKEN: entry 3: /m);
    const brokenJson = await cli(['--json', 'audit', 'verify']);
    expect(brokenJson.code).toBe(1);
    expect(JSON.parse(brokenJson.stdout)).toMatchObject({ ok: false, first_bad_seq: 3 });
  });

  it('manages webhooks and follows events', async () => {
    const receiver = new Receiver();
    await receiver.start();
    try {
      const added = await json<{ id: string; secret: string }>(['webhook', 'add', receiver.url, '--event', 'model.*', '--event', 'webhook.test']);
      expect(added.secret).toMatch(/^whsec_/);
      expect(await ok(['webhook', 'list'])).toContain(receiver.url);
      await ok(['model', 'create', 'hooked']);
      await ok(['webhook', 'test', added.id]);
      await receiver.until(() => receiver.received.length === 2);
      expect(receiver.events().map((e) => e.type).sort()).toEqual(['model.created', 'webhook.test']);
      const deliveries = await ok(['webhook', 'deliveries', added.id]);
      expect(deliveries).toMatch(/model\.created\s+\d+\s+hooked\s+delivered\s+1\s+200/);
      const events = await ok(['events', '--after', '0', '--limit', '1000']);
      expect(events).toMatch(/model\.created\s+hooked\s+admin/);
      expect((await cli(['webhook', 'add', 'http://10.1.2.3/x', '--event', '*'])).stderr).toMatch(/error: VALIDATION_FAILED: .*internal address/);
      await ok(['webhook', 'rm', added.id]);
    } finally {
      await receiver.stop();
    }
  });

  it('answers lineage, impact, inventory and dossier questions', async () => {
    await t.admin.createModel({ name: 'traced', risk_tier: 'high' });
    await t.admin.createVersion('traced', {
      source_uri: 's3://m/traced', digest: sha256('traced'),
      lineage: { datasets: [{ name: 'claims', version: '2026-q3', role: 'train' }], code: { repo: 'git@x:y.git', commit: 'c0ffee1' } },
    });
    await ok(['dataset', 'add', 'claims@2026-q4', '--uri', 's3://lake/claims/q4']);
    expect(await ok(['dataset', 'show', 'claims'])).toMatch(/2026-q4[\s\S]*2026-q3/);
    const lineage = await ok(['lineage', 'traced@1']);
    expect(lineage).toMatch(/version:traced\/1\s+trained_on\s+dataset:claims@2026-q3/);
    const impact = await ok(['impact', '--dataset', 'claims@2026-q3']);
    expect(impact).toMatch(/traced\s+1\s+development\s+-\s+direct/);
    expect(impact).toContain('1 version(s) affected, 0 in production');
    expect((await cli(['impact'])).code).toBe(2);
    expect(await ok(['inventory', '--risk-tier', 'high'])).toMatch(/traced\s+admin\s+high\s+not_validated/);
    const csvFile = join(home, 'inventory.csv');
    await ok(['inventory', '--csv', csvFile]);
    expect((await readFile(csvFile, 'utf8')).split('\r\n')[0]).toMatch(/^model,owner,responsible,risk_tier/);
    const dossierFile = join(home, 'traced.md');
    await ok(['dossier', 'traced@1', '--out', dossierFile]);
    expect(await readFile(dossierFile, 'utf8')).toMatch(/^# Evidence dossier: traced version 1$/m);
  });

  it('records deployments and observations and prints a reproduce spec', async () => {
    await t.admin.createModel({ name: 'deployed' });
    await t.admin.createVersion('deployed', { source_uri: 's3://m/d', digest: sha256('deployed') });
    await ok(['environment', 'set', 'prod-cli', '--production']);
    const refused = await cli(['deploy', 'record', 'deployed@1', 'prod-cli', 'api']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: NOT_APPROVED_FOR_PRODUCTION');
    const recorded = await json<{ id: string }>(['deploy', 'record', 'deployed@1', 'dev-cli', 'api', '--status', 'serving', '--replicas', '2']);
    expect(await ok(['deploy', 'list', '--model', 'deployed'])).toMatch(new RegExp(`${recorded.id}\\s+deployed\\s+1\\s+dev-cli\\s+api\\s+serving\\s+2`));
    await ok(['alert-rule', 'add', 'deployed', 'psi > 0.2']);
    const observed = await ok(['observe', 'deployed@1', 'psi', '0.3', '--from', '2026-11-01T00:00:00Z', '--to', '2026-11-02T00:00:00Z', '--source', 'cron']);
    expect(observed).toContain('ALERT raised');
    expect(await ok(['alerts', '--open'])).toMatch(/deployed\s+1/);
    const spec = await cli(['reproduce-spec', 'deployed@1']);
    expect(JSON.parse(spec.stdout)).toMatchObject({ model: 'deployed', version: 1, reproducible: false });
    expect(spec.stderr).toContain('not reproducible yet: missing code commit');
  });

  it('uploads a large file of a directory in parts, resuming an interrupted upload, then verifies and collects', async () => {
    await t.admin.createModel({ name: 'large' });
    const dir = join(home, 'large-model');
    await mkdir(join(dir, 'sub'), { recursive: true });
    const weights = new Uint8Array(40 * 1024 * 1024);
    for (let i = 0; i < weights.length; i += 4096) weights[i] = (i / 4096) % 251;
    await writeFile(join(dir, 'weights.bin'), weights);
    await writeFile(join(dir, 'sub', 'config.json'), '{"layers": 3}');
    // An earlier run that died after sending parts 1 and 3 of 3 (16 MiB parts by default).
    const earlier = await t.admin.startUpload({ size: weights.length, sha256: sha256(weights).slice(7) });
    expect(earlier.part_count).toBe(3);
    for (const n of [1, 3]) await t.admin.uploadPart(earlier.upload_id, n, weights.subarray((n - 1) * earlier.part_size, n * earlier.part_size));

    const created = await json<Version>(['version', 'create', 'large', '--dir', dir]);
    expect(created.files.map((f) => [f.path, f.size])).toEqual([['sub/config.json', 13], ['weights.bin', weights.length]]);
    const resumed = await t.admin.getUpload(earlier.upload_id);
    expect(resumed).toMatchObject({ status: 'completed', digest: sha256(weights) });
    expect(resumed.parts.filter((p) => p.number === 1 || p.number === 3).every((p) => p.received_at < resumed.parts.find((q) => q.number === 2)!.received_at)).toBe(true);

    expect(await ok(['verify', '--model', 'large'])).toMatch(/^ok:\s+yes$/m);
    const orphan = await t.admin.uploadBlob(new TextEncoder().encode('nobody uses me'));
    expect(await ok(['gc', '--dry-run', '--grace', '0'])).toMatch(/^would remove:\s+1 blob\(s\)/m);
    expect(await json<{ removed: string[] }>(['gc', '--grace', '0'])).toMatchObject({ removed: [orphan.digest] });

    const out = join(home, 'large-download');
    await ok(['download', 'large@1', '--out', out]);
    expect(Buffer.compare(await readFile(join(out, 'weights.bin')), Buffer.from(weights))).toBe(0);
    const hex = sha256(weights).slice(7);
    const blobFile = join(t.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
    // Damaged in place, its length kept: the download is refused and leaves nothing under the name.
    const damaged = Buffer.from(weights);
    damaged[damaged.length - 1]! ^= 0x01;
    await writeFile(blobFile, damaged);
    const refused = await cli(['download', 'large@1', '--out', join(home, 'damaged-download')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: DIGEST_MISMATCH');
    expect(await readdir(join(home, 'damaged-download'))).toEqual(['sub']);
    await writeFile(blobFile, 'tampered');
    const broken = await cli(['verify']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/corrupt\s+sha256:/);
    expect(broken.stderr).toContain('error: BLOBS_DAMAGED');
  });

  it('never sends the stored token to a server other than the one it was issued by', async () => {
    const nowhere = await closedPortUrl();
    const run = await cli(['--server', nowhere, 'whoami']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: NOT_LOGGED_IN: no token for ${nowhere}`);
  });
});
