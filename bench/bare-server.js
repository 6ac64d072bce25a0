// The baselines: a bare Fastify route returning a constant, in its own process like the
// registry; with `--sink-dir <dir>`, also `PUT /sink`, a plain Fastify route storing an upload
// as the stack's usual pieces do: the body piped through sha256 into a file write stream,
// then fsynced before the answer.
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { 'sink-dir': { type: 'string' } } });
const app = Fastify({ bodyLimit: Number.MAX_SAFE_INTEGER });
app.get('/constant', async () => ({ ok: true }));
const sinkDir = values['sink-dir'];
if (sinkDir) {
  // Loaded only here: the constant route's start-up and memory stay the baseline they were.
  const { createHash, randomUUID } = await import('node:crypto');
  const { createWriteStream } = await import('node:fs');
  const { open } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { pipeline } = await import('node:stream/promises');
  app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null));
  app.put('/sink', async (request) => {
    const path = join(sinkDir, randomUUID());
    const hash = createHash('sha256');
    const hashing = async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    };
    await pipeline(request.raw, hashing, createWriteStream(path));
    const file = await open(path, 'r+');
    await file.sync();
    await file.close();
    return { sha256: hash.digest('hex') };
  });
}
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${url}`);
