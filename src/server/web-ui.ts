/**
 * Serves the built web UI (dist/web) at `/`. The UI is a single-page app, so its page paths
 * (`/models/...`, `/approvals`, ...) all answer index.html; those paths are listed explicitly
 * rather than caught by a wildcard, so an unknown `/api/...` or MLflow path still gets the
 * API's own 404 (or 401) and never an HTML page. Static files need no token: they hold no data.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ModelgateError } from '../core/errors.js';

/** The UI's page paths; each also matches everything below it. Keep in step with the pages of web/src/app.tsx. */
export const UI_PAGES = ['/login', '/models', '/approvals', '/audit', '/webhooks', '/impact'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export async function registerWebUi(app: FastifyInstance, root: string): Promise<void> {
  const indexPath = join(root, 'index.html');
  const built = await stat(indexPath).then(() => true, () => false);
  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!built) {
      return reply.type('text/plain; charset=utf-8')
        .send('The web UI is not built. Run `npm install` (or `npm run build:web`) in the modelgate checkout.\n');
    }
    // index.html names the hashed assets of this build, so it must never be cached stale.
    return reply.type(TYPES['.html']!).header('cache-control', 'no-cache').headers(SECURITY_HEADERS).send(await readFile(indexPath));
  };
  const opts = { config: { public: true }, schema: { hide: true } };
  app.get('/', opts, page);
  for (const path of UI_PAGES) {
    app.get(path, opts, page);
    app.get(`${path}/*`, opts, page);
  }
  app.get<{ Params: { '*': string } }>('/assets/*', opts, async (request, reply) => {
    const file = normalize(join(root, 'assets', request.params['*']));
    if (!file.startsWith(join(root, 'assets') + sep)) throw new ModelgateError('NOT_FOUND', 'no such asset');
    const bytes = await readFile(file).catch(() => null);
    if (!bytes) throw new ModelgateError('NOT_FOUND', `no asset ${request.params['*']}`);
    // Asset names carry a content hash, so they can be cached for good.
    return reply.type(TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable').send(bytes);
  });
}

/** The UI loads only its own scripts and styles and talks only to this origin. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
