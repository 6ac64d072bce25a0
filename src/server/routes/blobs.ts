import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ModelgateError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import type { UploadPart } from '../../core/ports.js';
import type { UploadState } from '../../core/services/blob-service.js';
import { ctx } from '../auth.js';
import { replies } from '../schemas.js';

const BlobReply = Type.Object({ digest: Type.String(), size: Type.Integer() });
const Sha256Query = Type.Object({ sha256: Type.Optional(Type.String({ maxLength: 80 })) }, { additionalProperties: false });
const UploadId = Type.Object({ id: Type.String({ maxLength: 64 }) });
const PartQuery = Type.Object({
  sha256: Type.Optional(Type.String({ maxLength: 80 })),
  crc32: Type.Optional(Type.String({ maxLength: 16 })),
}, { additionalProperties: false });
const PartReply = Type.Object({
  number: Type.Integer(),
  size: Type.Integer(),
  sha256: Type.Union([Type.String(), Type.Null()]),
  crc32: Type.Union([Type.String(), Type.Null()]),
  received_at: Type.String(),
});
const UploadReply = Type.Object({
  upload_id: Type.String(),
  status: Type.String(),
  size: Type.Integer(),
  part_size: Type.Integer(),
  part_count: Type.Integer(),
  sha256: Type.Union([Type.String(), Type.Null()]),
  digest: Type.Union([Type.String(), Type.Null()]),
  created_by: Type.String(),
  created_at: Type.String(),
  expires_at: Type.String(),
  parts: Type.Array(PartReply),
  missing_parts: Type.Array(Type.Integer()),
});

function presentPart(p: UploadPart) {
  return { number: p.number, size: p.size, sha256: p.sha256, crc32: p.crc32, received_at: p.receivedAt };
}

function presentUpload({ session, parts, missing }: UploadState) {
  return {
    upload_id: session.id, status: session.status, size: session.size, part_size: session.partSize, part_count: session.partCount,
    sha256: session.sha256, digest: session.digest, created_by: session.createdBy, created_at: session.createdAt, expires_at: session.expiresAt,
    parts: parts.map(presentPart),
    missing_parts: missing,
  };
}

function streamBody(request: { headers: Record<string, string | string[] | undefined>; body: unknown; raw: AsyncIterable<Uint8Array> }): AsyncIterable<Uint8Array> {
  const type = request.headers['content-type'];
  if (type !== undefined && !String(type).startsWith('application/octet-stream')) {
    throw new ModelgateError('UNSUPPORTED_MEDIA_TYPE', 'upload the bytes as application/octet-stream');
  }
  return (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
}

/** The body's length as the request declares it (Content-Length), if it does. */
export function declaredLength(headers: { 'content-length'?: string }): number | undefined {
  const length = headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
}

export function blobRoutes(registry: Registry): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The body is handed to the route as a stream: it is hashed and written to disk as it
    // arrives, so memory stays flat whatever the size. The store enforces the size limit.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    app.post('/blobs', {
      schema: {
        summary: 'Upload bytes in one request; stored under their sha256',
        tags: ['blobs'],
        querystring: Sha256Query,
        response: replies({ 201: BlobReply }),
      },
    }, async (request, reply) => {
      const body = streamBody(request);
      const blob = await registry.blobs.upload(request.actor, body, request.query.sha256, declaredLength(request.headers));
      return reply.status(201).send(blob);
    });

    app.post('/uploads', {
      schema: {
        summary: 'Start a resumable upload (or resume the caller\'s open one for the same sha256 and size)',
        tags: ['blobs'],
        body: Type.Object({
          size: Type.Integer({ minimum: 0 }),
          sha256: Type.Optional(Type.String({ maxLength: 80 })),
          part_size: Type.Optional(Type.Integer({ minimum: 1 })),
        }, { additionalProperties: false }),
        response: replies({ 200: UploadReply, 201: UploadReply }),
      },
    }, async (request, reply) => {
      const state = await registry.blobs.startUpload(request.actor, { size: request.body.size, sha256: request.body.sha256, partSize: request.body.part_size });
      return reply.status(state.resumed ? 200 : 201).send(presentUpload(state));
    });

    app.get('/uploads/:id', {
      schema: { summary: 'An upload session: which parts the server has and which are missing', tags: ['blobs'], params: UploadId, response: replies({ 200: UploadReply }) },
    }, async (request) => presentUpload(await registry.blobs.getUpload(request.actor, request.params.id)));

    app.put('/uploads/:id/parts/:number', {
      schema: {
        summary: 'Send one part (any order, in parallel); `sha256` and/or `crc32` (8 hex digits) check the part',
        description: 'The server records each part\'s CRC-32, and its sha256 unless the part is checked by `crc32` alone (a cheaper pass on both sides; the whole sha256 is still checked at completion).',
        tags: ['blobs'],
        params: Type.Object({ id: Type.String({ maxLength: 64 }), number: Type.Integer({ minimum: 1, maximum: 10000 }) }),
        querystring: PartQuery,
        response: replies({ 200: PartReply }),
      },
    }, async (request) => {
      const { sha256, crc32 } = request.query;
      return presentPart(await registry.blobs.putPart(request.actor, request.params.id, request.params.number, streamBody(request), { sha256, crc32 }));
    });

    app.post('/uploads/:id/complete', {
      schema: {
        summary: 'Assemble the parts; the blob exists only if the whole sha256 matches',
        tags: ['blobs'],
        params: UploadId,
        response: replies({ 201: Type.Object({ digest: Type.String(), size: Type.Integer(), upload_id: Type.String() }) }),
      },
    }, async (request, reply) => reply.status(201).send(await registry.blobs.completeUpload(request.actor, request.params.id)));

    app.delete('/uploads/:id', {
      schema: { summary: 'Abort an upload session and discard its parts', tags: ['blobs'], params: UploadId, response: replies({ 204: Type.Null() }) },
    }, async (request, reply) => {
      await registry.blobs.abortUpload(request.actor, request.params.id);
      return reply.status(204).send(null);
    });

    app.post('/admin/gc', {
      schema: {
        summary: 'Collect garbage: blobs nothing references, expired upload sessions, temporary files (admin)',
        tags: ['blobs'],
        body: Type.Optional(Type.Object({
          dry_run: Type.Optional(Type.Boolean()),
          grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86400 })),
        }, { additionalProperties: false })),
      },
    }, async (request) => registry.blobMaintenance.gc(ctx(request), {
      dryRun: request.body?.dry_run, graceMs: request.body?.grace_seconds === undefined ? undefined : request.body.grace_seconds * 1000,
    }));

    app.get('/admin/verify-blobs', {
      schema: {
        summary: 'Rehash every referenced blob (or one model\'s) and report any missing or corrupt (approver)',
        tags: ['blobs'],
        querystring: Type.Object({ model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false }),
      },
    }, async (request) => registry.blobMaintenance.verify(ctx(request), { model: request.query.model }));

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
      reply.header('etag', `"${info.digest}"`).header('digest', `sha-256=${b64}`).header('repr-digest', `sha-256=:${b64}:`);
      const presigned = await registry.blobs.downloadUrl(info.digest);
      if (presigned) return reply.header('cache-control', 'no-store').redirect(presigned, 302);
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
