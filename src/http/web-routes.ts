import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';

/** Where `vite build` writes the web client (see web/vite.config.ts and scripts/build-web.ts). */
const webDistDir = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Paths the server owns: never answered with the web client's index.html. */
const serverPrefixes = ['/api', '/v1', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics'];

const notBuiltPage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Chorus</title>
<body style="font-family:system-ui;margin:3rem"><h1>Chorus</h1>
<p>The web client is not built. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds it first), then reload.</p>
<p>The API is up: see <a href="/docs">/docs</a>.</p></body></html>`;

/**
 * Serves the built web client (web/dist) at `/`: hashed files under /assets with a year's cache,
 * and index.html for any other GET that accepts HTML outside the server's own paths (the SPA
 * fallback, so /c/<id> survives a reload). Anything else unmatched answers SPEC §4's not_found.
 * When web/dist is missing the fallback answers a short page saying how to build it.
 */
export async function registerWebRoutes(app: FastifyInstance, options: { distDir?: string } = {}): Promise<void> {
  const distDir = options.distDir ?? webDistDir;
  const built = existsSync(`${distDir}/index.html`);

  await app.register(async (scope) => {
    if (built) {
      await scope.register(fastifyStatic, {
        root: distDir,
        prefix: '/',
        wildcard: false,
        index: false,
        schemaHide: true,
        setHeaders: (reply, filePath) => {
          const immutable = filePath.includes('/assets/');
          reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    }

    scope.get('/*', { schema: { hide: true } }, async (request, reply) => {
      if (!wantsWebClient(request)) throw new AppError('not_found', `Route GET ${request.url.split('?')[0]} not found`);
      reply.header('cache-control', 'no-cache');
      if (!built) return reply.status(503).type('text/html; charset=utf-8').send(notBuiltPage);
      return reply.sendFile('index.html');
    });
  });
}

function wantsWebClient(request: FastifyRequest): boolean {
  const pathname = request.url.split('?')[0] ?? '/';
  if (serverPrefixes.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) return false;
  if (pathname.startsWith('/assets/')) return false;
  return (request.headers.accept ?? '').includes('text/html');
}
