/**
 * Bad input, over HTTP, on every database: each refusal has its status and stable code in the
 * one error envelope, and leaves models, versions, aliases, users, tokens, promotions and the
 * audit chain exactly as they were.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';
import { expectRejected, raw, registryState, type RawOptions } from './helpers/http.js';

const MiB = 1024 * 1024;
const HEX = 'c'.repeat(64);

describe.each(DIALECTS)('bad input on $name', ({ name: dialect }) => {
  let t: TestServer;
  let file: { path: string; digest: string; size: number };
  let viewerToken: string;

  /** A request that must be refused with this status and code, changing nothing. */
  const refused = (method: string, path: string, options: RawOptions, status: number, code: string) =>
    expectRejected(t, () => raw(t, method, path, options), status, code);
  /** A valid file entry with `path` in place of its path. */
  const at = (path: string) => ({ ...file, path });

  beforeAll(async () => {
    t = await startTestServer(dialect);
    file = await uploadFile(t.admin, 'model.bin', 'weights-a');
    const other = await uploadFile(t.admin, 'model.bin', 'weights-b');
    await t.admin.createModel({ name: 'base', tags: { team: 'risk' } });
    await t.admin.createVersion('base', { files: [file], metrics: { auc: 0.9 } });
    await t.admin.createVersion('base', { files: [other], metrics: { auc: 0.95 } });
    await t.admin.setAlias('base', 'champion', 1);
    await t.admin.createModel({ name: 'other' });
    await t.admin.createUser({ username: 'watcher', role: 'viewer' });
    viewerToken = (await t.admin.createToken({ username: 'watcher', name: 'test' })).token;
  });
  afterAll(async () => { await t?.close(); });

  describe('malformed JSON', () => {
    it.each([
      ['a truncated object', '{"name": "fresh",'],
      ['unquoted keys', '{name: "fresh"}'],
      ['single quotes', "{'name': 'fresh'}"],
      ['a trailing second value', '{"name": "fresh"} {"name": "again"}'],
      ['a trailing comma', '{"name": "fresh",}'],
      ['an empty body', ''],
      ['a NUL byte', '\u0000'],
    ])('POST /models with %s is 400 MALFORMED_JSON', async (_, body) => {
      await refused('POST', '/api/v1/models', { body, contentType: 'application/json' }, 400, 'MALFORMED_JSON');
    });

    it.each([
      ['POST', '/api/v1/models/base/versions'],
      ['PUT', '/api/v1/models/base/aliases/champion'],
      ['PATCH', '/api/v1/models/base'],
      ['POST', '/api/v1/users'],
    ])('%s %s with a broken body is 400 MALFORMED_JSON', async (method, path) => {
      await refused(method, path, { body: '{"version": 1', contentType: 'application/json' }, 400, 'MALFORMED_JSON');
    });

    it('refuses a body that tries to set __proto__', async () => {
      await refused('POST', '/api/v1/models', { body: '{"name": "fresh", "__proto__": {"admin": true}}', contentType: 'application/json' }, 400, 'MALFORMED_JSON');
    });
  });

  describe('unknown fields', () => {
    it.each([
      ['a model', 'POST', '/api/v1/models', { name: 'fresh', colour: 'red' }, 'colour'],
      ['a model edit', 'PATCH', '/api/v1/models/base', { descripton: 'typo' }, 'descripton'],
      ['a file entry', 'POST', '/api/v1/models/base/versions', { files: [{ path: 'm.bin', digest: 'x', size: 1, mode: '0755' }] }, 'mode'],
      ['lineage', 'POST', '/api/v1/models/base/versions', { files: [], lineage: { notes: 'x' } }, 'notes'],
      ['lineage code', 'POST', '/api/v1/models/base/versions', { files: [], lineage: { code: { repo: 'r', commit: 'c', branch: 'main' } } }, 'branch'],
      ['an alias', 'PUT', '/api/v1/models/base/aliases/champion', { version: 2, force: true }, 'force'],
      ['a user', 'POST', '/api/v1/users', { username: 'eve', role: 'admin', password: 'x' }, 'password'],
    ])('in %s are 400 VALIDATION_FAILED', async (_, method, path, json, field) => {
      const error = await refused(method, path, { json }, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(error.details)).toContain(`unknown field \\"${field}\\"`);
    });

    it.each([
      '/api/v1/models?colour=red',
      '/api/v1/models/base/versions?sort=name',
      '/api/v1/audit?verbose=1',
    ])('in the query string of GET %s are 400 VALIDATION_FAILED', async (path) => {
      await refused('GET', path, {}, 400, 'VALIDATION_FAILED');
    });
  });

  describe('wrong types', () => {
    it.each([
      ['name: 5', { name: 5 }],
      ['name: null', { name: null }],
      ['name: ["a"]', { name: ['a'] }],
      ['no name', { description: 'nameless' }],
      ['a numeric tag value', { name: 'fresh', tags: { team: 5 } }],
      ['tags as an array', { name: 'fresh', tags: ['team'] }],
      ['a numeric description', { name: 'fresh', description: 7 }],
      ['an unknown risk tier', { name: 'fresh', risk_tier: 'extreme' }],
      ['an array body', [{ name: 'fresh' }]],
      ['a string body', 'fresh'],
      ['a null body', null],
    ])('a model with %s is 400 VALIDATION_FAILED', async (_, json) => {
      await refused('POST', '/api/v1/models', { json }, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['metrics: {auc: "high"}', () => ({ files: [file], metrics: { auc: 'high' } })],
      ['metrics: {auc: null}', () => ({ files: [file], metrics: { auc: null } })],
      ['metrics: {auc: true}', () => ({ files: [file], metrics: { auc: true } })],
      ['metrics as an array', () => ({ files: [file], metrics: [0.9] })],
      ['a numeric param', () => ({ files: [file], params: { lr: 0.1 } })],
      ['size: "9"', () => ({ files: [{ ...file, size: String(file.size) }] })],
      ['size: -1', () => ({ files: [{ ...file, size: -1 }] })],
      ['size: 1.5', () => ({ files: [{ ...file, size: 1.5 }] })],
      ['files as a string', () => ({ files: 'model.bin' })],
      ['files as an object', () => ({ files: { 'model.bin': file } })],
      ['a parent version as a string', () => ({ files: [file], lineage: { parents: [{ model: 'base', version: '1' }] } })],
      ['a parent version 0', () => ({ files: [file], lineage: { parents: [{ model: 'base', version: 0 }] } })],
      ['a dataset version as a number', () => ({ files: [file], lineage: { datasets: [{ name: 'd', version: 1, role: 'train' }] } })],
      ['an unknown dataset role', () => ({ files: [file], lineage: { datasets: [{ name: 'd', version: '1', role: 'bogus' }] } })],
      ['lineage as an array', () => ({ files: [file], lineage: [] })],
      ['both files and source_uri', () => ({ files: [file], source_uri: 's3://b/k', digest: `sha256:${HEX}` })],
      ['neither files nor source_uri', () => ({ metrics: { auc: 0.5 } })],
      ['an empty file list', () => ({ files: [] })],
      ['a digest beside files', () => ({ files: [file], digest: file.digest })],
      ['source_uri without its digest', () => ({ source_uri: 's3://bucket/model' })],
      ['source_uri that is not a URI', () => ({ source_uri: 'just words', digest: `sha256:${HEX}` })],
    ])('a version with %s is 400 VALIDATION_FAILED', async (_, json) => {
      await refused('POST', '/api/v1/models/base/versions', { json: json() }, 400, 'VALIDATION_FAILED');
    });

    // JSON.parse turns 1e400 into Infinity; no number field may accept it.
    it.each([
      ['a metric of 1e400', () => `{"files": [${JSON.stringify(file)}], "metrics": {"auc": 1e400}}`],
      ['a metric of -1e400', () => `{"files": [${JSON.stringify(file)}], "metrics": {"auc": -1e400}}`],
      ['a size of 1e400', () => `{"files": [{"path": "m.bin", "digest": "${file.digest}", "size": 1e400}]}`],
      ['a parent version of 1e400', () => `{"files": [${JSON.stringify(file)}], "lineage": {"parents": [{"model": "base", "version": 1e400}]}}`],
      ['a parent version of 1e20', () => `{"files": [${JSON.stringify(file)}], "lineage": {"parents": [{"model": "base", "version": 1e20}]}}`],
    ])('a version with %s is 400 VALIDATION_FAILED', async (_, body) => {
      await refused('POST', '/api/v1/models/base/versions', { body: body(), contentType: 'application/json' }, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['version: "1"', '{"version": "1"}'],
      ['version: 1.5', '{"version": 1.5}'],
      ['version: 0', '{"version": 0}'],
      ['version: -1', '{"version": -1}'],
      ['version: null', '{"version": null}'],
      ['no version', '{}'],
      ['version: 2147483648', '{"version": 2147483648}'],
      ['version: 1e400', '{"version": 1e400}'],
    ])('an alias body with %s is 400 VALIDATION_FAILED', async (_, body) => {
      await refused('PUT', '/api/v1/models/base/aliases/champion', { body, contentType: 'application/json' }, 400, 'VALIDATION_FAILED');
    });

    it.each([
      ['a non-numeric version', 'GET', '/api/v1/models/base/versions/one'],
      ['version 0', 'GET', '/api/v1/models/base/versions/0'],
      ['a version past 2^31', 'GET', '/api/v1/models/base/versions/99999999999'],
      ['a fractional version', 'DELETE', '/api/v1/models/base/versions/1.5'],
    ])('a path with %s is 400 VALIDATION_FAILED', async (_, method, path) => {
      await refused(method, path, {}, 400, 'VALIDATION_FAILED');
    });

    it('a promotion with a numeric target, or an unknown one, is 400 VALIDATION_FAILED', async () => {
      await refused('POST', '/api/v1/models/base/versions/1/promotions', { json: { target: 5, reason: 'x' } }, 400, 'VALIDATION_FAILED');
      await refused('POST', '/api/v1/models/base/versions/1/promotions', { json: { target: 'prod', reason: 'x' } }, 400, 'VALIDATION_FAILED');
      await refused('POST', '/api/v1/models/base/versions/1/promotions', { json: { target: 'staging', reason: '   ' } }, 400, 'VALIDATION_FAILED');
    });

    it('a user with an unknown role is 400 VALIDATION_FAILED', async () => {
      await refused('POST', '/api/v1/users', { json: { username: 'eve', role: 'superuser' } }, 400, 'VALIDATION_FAILED');
    });
  });

  describe('oversize bodies', () => {
    const huge = () => JSON.stringify({ name: 'huge', description: 'x'.repeat(9 * MiB) });

    it('a model body over its route\'s 1 MiB limit is 413 PAYLOAD_TOO_LARGE', async () => {
      await refused('POST', '/api/v1/models', { body: huge(), contentType: 'application/json' }, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('a chunked JSON body over the limit (no content-length) is 413 PAYLOAD_TOO_LARGE', async () => {
      const bytes = Buffer.from(huge());
      const chunks = Readable.from((function* () { for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024); })());
      await refused('POST', '/api/v1/models', { body: chunks, contentType: 'application/json' }, 413, 'PAYLOAD_TOO_LARGE');
    });

    /**
     * As Python's requests does: the request's whole body (and `after`, bytes sent behind it on
     * the same connection), then the answer, over a raw connection.
     */
    async function wholeBodyThenAnswer(path: string, body: Buffer, after = '') {
      const url = new URL(t.url);
      const socket = net.connect(Number(url.port), url.hostname);
      const failures: Error[] = [];
      socket.on('error', (err) => failures.push(err));
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => { answer += chunk; });
      const ended = new Promise((resolve) => socket.once('close', resolve));
      const stream = Buffer.concat([
        Buffer.from(`POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${t.adminToken}\r\n`
          + `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`),
        body, Buffer.from(after),
      ]);
      for (let i = 0; i < stream.length && failures.length === 0; i += 256 * 1024) {
        if (!socket.write(stream.subarray(i, i + 256 * 1024))) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), ended]);
      }
      socket.end();
      await ended;
      return { failures, answer };
    }

    it.each([
      ['/api/v1/models', 413, 'PAYLOAD_TOO_LARGE'],
      ['/api/2.0/mlflow/registered-models/create', 400, 'INVALID_PARAMETER_VALUE'],
    ])('a client that writes its whole oversize body to %s before reading gets its answer, not a reset', async (path, status, code) => {
      // The server refuses it by its declared length, before reading a byte: it must keep the
      // connection open (reading and dropping the body) until the client is done, or closing
      // it would reset the connection under the answer.
      const before = await registryState(t);
      const { failures, answer } = await wholeBodyThenAnswer(path, Buffer.from(huge()));
      expect(failures).toEqual([]);
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(answer).toContain(code);
      expect(await registryState(t)).toEqual(before);
    });

    it('never runs a request sent behind a refused body on the same connection', async () => {
      const before = await registryState(t);
      const smuggled = JSON.stringify({ name: 'smuggled' });
      const { answer } = await wholeBodyThenAnswer('/api/v1/models', Buffer.from(huge()),
        `POST /api/v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.adminToken}\r\n`
        + `content-type: application/json\r\ncontent-length: ${smuggled.length}\r\n\r\n${smuggled}`);
      expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(await registryState(t)).toEqual(before);
      await expect(t.admin.getModel('smuggled')).rejects.toMatchObject({ status: 404 });
    });

    it('a version body over its route\'s 16 MiB limit is 413 PAYLOAD_TOO_LARGE', async () => {
      const body = JSON.stringify({ files: [file], model_card: 'y'.repeat(17 * MiB) });
      await refused('POST', '/api/v1/models/base/versions', { body, contentType: 'application/json' }, 413, 'PAYLOAD_TOO_LARGE');
    });
  });

  describe('invalid names', () => {
    it.each([
      ['empty', '', 'VALIDATION_FAILED'],
      ['129 characters', 'a'.repeat(129), 'VALIDATION_FAILED'],
      ['a space', 'has space', 'INVALID_NAME'],
      ['a leading space', ' lead', 'INVALID_NAME'],
      ['only dots (..)', '..', 'INVALID_NAME'],
      ['only a dot', '.', 'INVALID_NAME'],
      ['a slash', 'a/b', 'INVALID_NAME'],
      ['a backslash', 'a\\b', 'INVALID_NAME'],
      ['an accent', 'modèle', 'INVALID_NAME'],
      ['CJK', 'モデル', 'INVALID_NAME'],
      ['fullwidth letters', 'ｍｏｄｅｌ', 'INVALID_NAME'],
      ['an emoji', 'model-😀', 'INVALID_NAME'],
      ['a NUL', 'a\u0000b', 'INVALID_NAME'],
      ['a newline', 'a\nb', 'INVALID_NAME'],
      ['a tab', 'a\tb', 'INVALID_NAME'],
      ['DEL', 'a\u007fb', 'INVALID_NAME'],
      ['a percent-encoded dot pair', '%2e%2e', 'INVALID_NAME'],
    ])('a model name with %s is refused', async (_, name, code) => {
      await refused('POST', '/api/v1/models', { json: { name } }, 400, code);
    });

    it('renaming a model to an invalid name is 400 INVALID_NAME', async () => {
      await refused('POST', '/api/v1/models/base/rename', { json: { new_name: '../etc' } }, 400, 'INVALID_NAME');
    });

    it('a parent model with an invalid name is 400 INVALID_NAME', async () => {
      await refused('POST', '/api/v1/models/base/versions', { json: { files: [file], lineage: { parents: [{ model: 'no such', version: 1 }] } } }, 400, 'INVALID_NAME');
    });

    it.each([
      ['a leading digit', '1st'],
      ['a space', 'a%20b'],
      ['an encoded slash', 'a%2Fb'],
      ['an at sign', '%40champion'],
    ])('an alias name with %s is 400 INVALID_NAME', async (_, alias) => {
      await refused('PUT', `/api/v1/models/base/aliases/${alias}`, { json: { version: 1 } }, 400, 'INVALID_NAME');
    });

    it('a promotion to an alias that could be a version number is 400 INVALID_NAME', async () => {
      await refused('POST', '/api/v1/models/base/versions/1/promotions', { json: { target: '@2', reason: 'x' } }, 400, 'INVALID_NAME');
    });

    it.each(['Admin', 'has space', '-lead', 'é'])('username %j is 400 INVALID_NAME', async (username) => {
      await refused('POST', '/api/v1/users', { json: { username, role: 'viewer' } }, 400, 'INVALID_NAME');
    });

    it.each([
      ['a metric', { metrics: { 'a b': 1 } }],
      ['a param', { params: { 'lr;drop': '1' } }],
      ['a tag', { tags: { 'bad key': 'x' } }],
    ])('%s with an invalid name is 400 INVALID_NAME', async (_, extra) => {
      await refused('POST', '/api/v1/models/base/versions', { json: { files: [file], ...extra } }, 400, 'INVALID_NAME');
    });
  });

  describe('file paths in a manifest', () => {
    it.each([
      '../x', 'a/../../x', '..', 'a/..', '/etc/passwd', '//server/share', 'C:\\x', 'C:/x', 'c:x', 'a\\..\\..\\x',
      'a\u0000b', 'a\nb', 'a\u007fb', 'a//b', './a', 'a/./b', '.', 'a/',
    ])('%j is 400 INVALID_PATH', async (path) => {
      const error = await refused('POST', '/api/v1/models/base/versions', { json: { files: [at('ok.bin'), at(path)] } }, 400, 'INVALID_PATH');
      expect(error.details).toEqual({ path });
    });

    it.each([['empty', ''], ['1025 characters', 'a'.repeat(1025)]])('an %s path is 400 VALIDATION_FAILED', async (_, path) => {
      await refused('POST', '/api/v1/models/base/versions', { json: { files: [at(path)] } }, 400, 'VALIDATION_FAILED');
    });

    it('the same path listed twice is 400 INVALID_PATH', async () => {
      await refused('POST', '/api/v1/models/base/versions', { json: { files: [at('m.bin'), at('m.bin')] } }, 400, 'INVALID_PATH');
      await refused('POST', '/api/v1/models/base/versions', {
        json: { files: [at('m.bin'), at('other.bin'), { path: 'm.bin', digest: `sha256:${HEX}`, size: 1 }] },
      }, 400, 'INVALID_PATH');
    });
  });

  describe('digests', () => {
    it.each([
      ['uppercase hex', `sha256:${'A'.repeat(64)}`],
      ['too short', 'sha256:abc'],
      ['too long', `sha256:${'a'.repeat(65)}`],
      ['not hex', `sha256:${'g'.repeat(64)}`],
      ['another algorithm', `md5:${'a'.repeat(32)}`],
      ['sha512', `sha512:${'a'.repeat(128)}`],
      ['bare hex', 'a'.repeat(64)],
      ['a trailing newline', `sha256:${'a'.repeat(64)}\n`],
    ])('a file digest that is %s is 400 VALIDATION_FAILED', async (_, digest) => {
      await refused('POST', '/api/v1/models/base/versions', { json: { files: [{ path: 'm.bin', digest, size: 1 }] } }, 400, 'VALIDATION_FAILED');
    });

    it('a bad digest beside source_uri, or on a dataset, is 400 VALIDATION_FAILED', async () => {
      await refused('POST', '/api/v1/models/base/versions', { json: { source_uri: 's3://b/model', digest: 'sha256:xyz' } }, 400, 'VALIDATION_FAILED');
      await refused('POST', '/api/v1/models/base/versions', {
        json: { files: [file], lineage: { datasets: [{ name: 'd', version: '1', role: 'train', digest: 'md5:abc' }] } },
      }, 400, 'VALIDATION_FAILED');
    });
  });

  describe('references to things that do not exist', () => {
    it('an unknown model is 404 MODEL_NOT_FOUND, to read or to write', async () => {
      await expectRejected(t, () => t.admin.getModel('ghost'), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.listVersions('ghost'), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.createVersion('ghost', { files: [file] }), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.updateModel('ghost', { description: 'x' }), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.setAlias('ghost', 'champion', 1), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.resolve('ghost', 'production'), 404, 'MODEL_NOT_FOUND');
      await expectRejected(t, () => t.admin.listPromotions({ model: 'ghost' }), 404, 'MODEL_NOT_FOUND');
    });

    it('an unknown version is 404 VERSION_NOT_FOUND', async () => {
      await expectRejected(t, () => t.admin.getVersion('base', 99), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.updateVersion('base', 99, { description: 'x' }), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.deleteVersion('base', 99), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.promote('base', 99, { target: 'staging', reason: 'x' }), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.resolve('base', '99'), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.resolve('base', 'production'), 404, 'VERSION_NOT_FOUND');
    });

    it('an alias pointed at an unknown version is 404 VERSION_NOT_FOUND, and the alias keeps its version', async () => {
      await expectRejected(t, () => t.admin.setAlias('base', 'champion', 99), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.setAlias('base', 'newcomer', 99), 404, 'VERSION_NOT_FOUND');
      expect((await t.admin.resolve('base', '@champion'))!.resolved.version).toBe(1);
      await expectRejected(t, () => t.admin.resolve('base', '@newcomer'), 404, 'ALIAS_NOT_FOUND');
      await expectRejected(t, () => t.admin.deleteAlias('base', 'newcomer'), 404, 'ALIAS_NOT_FOUND');
    });

    it('an unresolvable ref is 400 INVALID_REF', async () => {
      for (const ref of ['prod', '0', '-1', '1.0', '99999999999', 'latest']) {
        await expectRejected(t, () => t.admin.resolve('base', ref), 400, 'INVALID_REF');
      }
    });

    it('a lineage parent that does not exist is 404 VERSION_NOT_FOUND', async () => {
      await expectRejected(t, () => t.admin.createVersion('base', { files: [file], lineage: { parents: [{ model: 'base', version: 99 }] } }), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.createVersion('base', { files: [file], lineage: { parents: [{ model: 'ghost', version: 1 }] } }), 404, 'VERSION_NOT_FOUND');
      await expectRejected(t, () => t.admin.createVersion('base', {
        files: [file], lineage: { parents: [{ model: 'base', version: 1 }, { model: 'other', version: 1 }] },
      }), 404, 'VERSION_NOT_FOUND');
    });

    it('a manifest naming a blob that was never uploaded is 404 BLOB_NOT_FOUND', async () => {
      const error = await expectRejected(t, () => t.admin.createVersion('base', {
        files: [file, { path: 'extra.bin', digest: `sha256:${HEX}`, size: 3 }],
      }), 404, 'BLOB_NOT_FOUND');
      expect(error.details).toEqual({ path: 'extra.bin', digest: `sha256:${HEX}` });
    });

    it('a manifest whose size disagrees with the blob is 422 SIZE_MISMATCH', async () => {
      for (const size of [file.size + 1, file.size - 1, 0, 2 ** 40]) {
        const error = await expectRejected(t, () => t.admin.createVersion('base', { files: [{ ...file, size }] }), 422, 'SIZE_MISMATCH');
        expect(error.details).toEqual({ path: file.path, expected: size, actual: file.size });
      }
    });
  });

  describe('list queries', () => {
    it.each([
      'metrics.auc >>= 1',
      'drop table',
      'drop table versions; --',
      'metrics.auc >= 1; drop table versions',
      "metrics.auc >= 0.5 OR 1=1",
      'metrics.auc >= high',
      'metrics.auc >= 1e400',
      'metrics.auc >=',
      'params.lr == 1',
      'metrics. >= 1',
      "metrics.auc' >= 1",
      'metrics.a;b >= 1',
      '',
    ])('filter=%j is 400 INVALID_FILTER', async (filter) => {
      await refused('GET', `/api/v1/models/base/versions?filter=${encodeURIComponent(filter)}`, {}, 400, 'INVALID_FILTER');
    });

    it('a bad tag filter is 400 INVALID_FILTER, on versions and models', async () => {
      await refused('GET', `/api/v1/models/base/versions?tag=${encodeURIComponent('bad key!')}`, {}, 400, 'INVALID_FILTER');
      await refused('GET', `/api/v1/models?tag=${encodeURIComponent("x' OR 1=1")}`, {}, 400, 'INVALID_FILTER');
    });

    it('the versions table survives the filters above', async () => {
      const { versions } = await t.admin.listVersions('base', { filter: ['metrics.auc >= 0.92'] });
      expect(versions.map((v) => v.version)).toEqual([2]);
    });

    it('a garbage or forged page_token is 400 INVALID_PAGE_TOKEN', async () => {
      const modelsToken = (await t.admin.listModels({ page_size: 1 })).next_page_token!;
      const versionsToken = (await t.admin.listVersions('base', { page_size: 1 })).next_page_token!;
      expect(modelsToken).toEqual(expect.any(String));
      expect(versionsToken).toEqual(expect.any(String));
      const forge = (token: string, p: unknown) => {
        const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as { q: string };
        return Buffer.from(JSON.stringify({ q: parsed.q, p })).toString('base64url');
      };
      const b64 = (text: string) => Buffer.from(text).toString('base64url');
      const cases: [string, string][] = [
        ['/api/v1/models/base/versions', 'garbage'],
        ['/api/v1/models/base/versions', '!!!'],
        ['/api/v1/models/base/versions', b64('{"q":"x","p":1}')],
        ['/api/v1/models/base/versions', b64('not json')],
        ['/api/v1/models/base/versions', modelsToken],
        ['/api/v1/models/base/versions?stage=staging', versionsToken],
        ['/api/v1/models/base/versions?order=asc', versionsToken],
        ['/api/v1/models/other/versions', versionsToken],
        ['/api/v1/models/base/versions', forge(versionsToken, '1; drop table versions')],
        ['/api/v1/models/base/versions', forge(versionsToken, 1.5)],
        ['/api/v1/models/base/versions', forge(versionsToken, null)],
        ['/api/v1/models', 'garbage'],
        ['/api/v1/models', versionsToken],
        ['/api/v1/models?sort=created_at', modelsToken],
        ['/api/v1/models', forge(modelsToken, { key: 5, id: 'x' })],
        ['/api/v1/models', forge(modelsToken, 'base')],
        ['/api/v1/audit', 'garbage'],
        ['/api/v1/audit', versionsToken],
        ['/api/v1/promotions', 'garbage'],
      ];
      for (const [path, token] of cases) {
        const sep = path.includes('?') ? '&' : '?';
        await refused('GET', `${path}${sep}page_token=${encodeURIComponent(token)}`, {}, 400, 'INVALID_PAGE_TOKEN');
      }
      // Past the schema's length limit, the token is refused before it is decoded.
      await refused('GET', `/api/v1/models?page_token=${'a'.repeat(1025)}`, {}, 400, 'VALIDATION_FAILED');
    });

    it.each(['0', '100000', '-1', '1.5', 'ten', '1001'])('page_size=%s is 400 VALIDATION_FAILED', async (size) => {
      for (const path of ['/api/v1/models', '/api/v1/models/base/versions', '/api/v1/audit', '/api/v1/promotions']) {
        await refused('GET', `${path}?page_size=${size}`, {}, 400, 'VALIDATION_FAILED');
      }
    });

    it('a bad time in a query is 400 VALIDATION_FAILED', async () => {
      await refused('GET', '/api/v1/models/base/versions?created_after=yesterday', {}, 400, 'VALIDATION_FAILED');
      await refused('GET', '/api/v1/audit?since=not-a-time', {}, 400, 'VALIDATION_FAILED');
    });
  });

  describe('who may do what', () => {
    it.each([
      ['no Authorization header', {}],
      ['an empty bearer', { authorization: 'Bearer ' }],
      ['a garbage bearer', { authorization: 'Bearer garbage' }],
      ['an unknown token of the right shape', { authorization: `Bearer mgt_${'x'.repeat(40)}` }],
      ['a token of 10,000 characters', { authorization: `Bearer mgt_${'x'.repeat(10_000)}` }],
      ['Basic auth', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
      ['two tokens', { authorization: 'Bearer a b' }],
    ])('%s is 401 UNAUTHENTICATED, to read or to write', async (_, headers) => {
      await refused('GET', '/api/v1/models', { token: null, headers }, 401, 'UNAUTHENTICATED');
      await refused('POST', '/api/v1/models', { token: null, headers, json: { name: 'intruder' } }, 401, 'UNAUTHENTICATED');
      await refused('GET', '/api/v1/no-such-route', { token: null, headers }, 401, 'UNAUTHENTICATED');
    });

    it('a revoked token is 401 UNAUTHENTICATED', async () => {
      const issued = await t.admin.createToken({ username: 'watcher', name: 'short-lived' });
      await t.admin.revokeToken(issued.id);
      await refused('GET', '/api/v1/models', { token: issued.token }, 401, 'UNAUTHENTICATED');
    });

    it.each([
      ['create a model', 'POST', '/api/v1/models', { name: 'viewer-model' }],
      ['register a version', 'POST', '/api/v1/models/base/versions', null],
      ['edit a model', 'PATCH', '/api/v1/models/base', { description: 'mine now' }],
      ['edit a version', 'PATCH', '/api/v1/models/base/versions/1', { description: 'mine now' }],
      ['point an alias', 'PUT', '/api/v1/models/base/aliases/champion', { version: 2 }],
      ['promote', 'POST', '/api/v1/models/base/versions/2/promotions', { target: 'staging', reason: 'x' }],
      ['create a user', 'POST', '/api/v1/users', { username: 'sockpuppet', role: 'admin' }],
    ])('a viewer trying to %s is 403 ROLE_REQUIRED', async (_, method, path, json) => {
      const error = await refused(method, path, { token: viewerToken, json: json ?? { files: [file] } }, 403, 'ROLE_REQUIRED');
      expect(error.details).toMatchObject({ role: 'viewer' });
    });

    it('a viewer cannot delete an alias, a version, or another user\'s token', async () => {
      await refused('DELETE', '/api/v1/models/base/aliases/champion', { token: viewerToken }, 403, 'ROLE_REQUIRED');
      await refused('DELETE', '/api/v1/models/base/versions/2', { token: viewerToken }, 403, 'ROLE_REQUIRED');
      const adminTokenId = (await t.admin.listTokens('admin'))[0]!.id;
      await refused('DELETE', `/api/v1/tokens/${adminTokenId}`, { token: viewerToken }, 403, 'ROLE_REQUIRED');
    });

    it.each([
      ['GET', '/api/v1/no-such-route'],
      ['POST', '/api/v1/models/base/no-such-action'],
      ['DELETE', '/api/v1/models'],
      ['PUT', '/api/v1/models/base'],
      ['GET', '/no-such-route'],
      ['GET', '/api/v2/models'],
    ])('%s %s (authenticated) is 404 NOT_FOUND', async (method, path) => {
      await refused(method, path, { json: method === 'GET' ? undefined : { name: 'x' } }, 404, 'NOT_FOUND');
    });
  });

  describe('conflicts and media types', () => {
    it('a duplicate model name is 409 MODEL_EXISTS, including a former name', async () => {
      await refused('POST', '/api/v1/models', { json: { name: 'base' } }, 409, 'MODEL_EXISTS');
      await t.admin.createModel({ name: 'old-name' });
      await t.admin.renameModel('old-name', 'new-name');
      await refused('POST', '/api/v1/models', { json: { name: 'old-name' } }, 409, 'MODEL_EXISTS');
      await refused('POST', '/api/v1/models', { json: { name: 'new-name' } }, 409, 'MODEL_EXISTS');
      await refused('POST', '/api/v1/models/other/rename', { json: { new_name: 'base' } }, 409, 'MODEL_EXISTS');
    });

    it('a duplicate user is 409 USER_EXISTS', async () => {
      await refused('POST', '/api/v1/users', { json: { username: 'watcher', role: 'admin' } }, 409, 'USER_EXISTS');
    });

    it.each([
      ['text/plain', '{"name": "typed"}'],
      ['text/plain; charset=utf-8', '{"name": "typed"}'],
      ['application/x-www-form-urlencoded', 'name=typed'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\ntyped\r\n--x--\r\n'],
      ['application/octet-stream', '{"name": "typed"}'],
      ['application/xml', '<model name="typed"/>'],
    ])('POST /models as %s is 415 UNSUPPORTED_MEDIA_TYPE', async (contentType, body) => {
      await refused('POST', '/api/v1/models', { body, contentType }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('a body with no content type at all is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      await refused('POST', '/api/v1/models', { body: new TextEncoder().encode('{"name": "typed"}') }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('a version or an alias as text/plain is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      await refused('POST', '/api/v1/models/base/versions', { body: JSON.stringify({ files: [file] }), contentType: 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE');
      await refused('PUT', '/api/v1/models/base/aliases/champion', { body: '{"version": 2}', contentType: 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  it('after every refusal above, the next version is numbered without a gap and the chain verifies', async () => {
    const before = await registryState(t);
    const created = await t.admin.createVersion('base', { files: [file], lineage: { parents: [{ model: 'base', version: 1 }] } });
    expect(created.version).toBe(3);
    expect(before.versions.base).toHaveLength(2);
    expect((await t.admin.verifyAudit()).ok).toBe(true);
  });
});
