// The baselines: a bare Fastify route returning a constant, in its own process like the
// registry; with `--sink-dir <dir>`, also `PUT /sink`, the least the stack does to store an
// upload: stream the body to a new file in <dir>, sha256 on the way, fsync before answering.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { 'sink-dir': { type: 'string' } } });
const app = Fastify({ bodyLimit: Number.MAX_SAFE_INTEGER });
app.get('/constant', async () => ({ ok: true }));
const sinkDir = values['sink-dir'];
if (sinkDir) {
  app.addContentTypeParser('application/octet-stream', (_request, _payload, done) => done(null));
  app.put('/sink', async (request) => {
    const hash = createHash('sha256');
    const hashing = async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    };
    // `flush`: the file is fsynced before the stream reports it is closed.
    await pipeline(request.raw, hashing, createWriteStream(join(sinkDir, randomUUID()), { flush: true }));
    return { sha256: hash.digest('hex') };
  });
}
const url = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${url}`);
