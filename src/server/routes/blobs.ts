import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ModelgateError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import { replies } from '../schemas.js';

const BlobReply = Type.Object({ digest: Type.String(), size: Type.Integer() });

export function blobRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The body is handed to the route as a stream: it is hashed and written to disk as it
    // arrives, so memory stays flat whatever the size. The store enforces the size limit.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    app.post('/blobs', {
      schema: {
        summary: 'Upload bytes; stored under their sha256',
        tags: ['blobs'],
        querystring: Type.Object({ sha256: Type.Optional(Type.String({ maxLength: 80 })) }, { additionalProperties: false }),
        response: replies({ 201: BlobReply }),
      },
    }, async (request, reply) => {
      const type = request.headers['content-type'];
      if (type !== undefined && !type.startsWith('application/octet-stream')) {
        throw new ModelgateError('UNSUPPORTED_MEDIA_TYPE', 'upload the bytes as application/octet-stream');
      }
      const body = (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
      const blob = await registry.blobs.upload(request.actor, body, request.query.sha256);
      return reply.status(201).send(blob);
    });

    app.get('/blobs/:digest', {
      schema: {
        summary: 'Download bytes by digest; supports Range',
        tags: ['blobs'],
        params: Type.Object({ digest: Type.String({ maxLength: 80 }) }),
      },
    }, async (request, reply) => {
      const info = await registry.blobs.stat(request.params.digest);
      const hex = info.digest.slice('sha256:'.length);
      const b64 = Buffer.from(hex, 'hex').toString('base64');
      reply
        .header('content-type', 'application/octet-stream')
        .header('accept-ranges', 'bytes')
        .header('etag', `"${info.digest}"`)
        .header('digest', `sha-256=${b64}`)
        .header('repr-digest', `sha-256=:${b64}:`)
        .header('cache-control', 'private, max-age=31536000, immutable');
      const range = parseRange(request.headers.range, info.size);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${info.size}`);
        throw new ModelgateError('RANGE_NOT_SATISFIABLE', `range ${request.headers.range} is outside the ${info.size} bytes of this blob`);
      }
      if (range) {
        reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`).header('content-length', range.end - range.start + 1);
        return reply.send(await registry.blobs.read(info.digest, range));
      }
      reply.header('content-length', info.size);
      return reply.send(await registry.blobs.read(info.digest));
    });
  };
}

/** One `bytes=` range (first-last, first-, or -suffix). Several ranges are answered with the whole blob. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return null;
  let start: number;
  let end: number;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return null;
  }
  if (start >= size || size === 0) return 'unsatisfiable';
  return { start, end };
}
