import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, expectApiError, startTestServer, uploadFile, type TestServer } from './helpers/harness.js';

describe.each(DIALECTS)('registry on $name', ({ name }) => {
  let t: TestServer;
  beforeAll(async () => { t = await startTestServer(name); });
  afterAll(async () => { await t?.close(); });

  it('registers a model and a version from uploaded files, and resolves it', async () => {
    const model = await t.admin.createModel({ name: 'fraud-scorer', description: 'scores', tags: { team: 'risk' } });
    expect(model).toMatchObject({ name: 'fraud-scorer', owner: 'admin', tags: { team: 'risk' }, archived: false });
    const file = await uploadFile(t.admin, 'model.onnx', 'weights-v1');
    const version = await t.admin.createVersion('fraud-scorer', { files: [file], metrics: { auc: 0.91 }, params: { lr: '0.1' } });
    expect(version).toMatchObject({ model: 'fraud-scorer', version: 1, status: 'ready', stage: 'development', metrics: { auc: 0.91 } });
    expect(version.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const resolved = await t.admin.resolve('fraud-scorer', '1');
    expect(resolved!.resolved.files[0]).toMatchObject({ path: 'model.onnx', digest: file.digest, size: file.size });
    const bytes = await t.admin.downloadBlob(file.digest);
    expect(new TextDecoder().decode(bytes)).toBe('weights-v1');
  });

  it('refuses to register a version whose blob was never uploaded', async () => {
    await t.admin.createModel({ name: 'no-blob' });
    await expectApiError(t.admin.createVersion('no-blob', {
      files: [{ path: 'm.bin', digest: `sha256:${'a'.repeat(64)}`, size: 3 }],
    }), 404, 'BLOB_NOT_FOUND');
    const { versions } = await t.admin.listVersions('no-blob');
    expect(versions).toEqual([]);
  });
});
