import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
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
 * Serves the built web client (web/dist) at `/`: its files (hashed ones under /assets with a
 * year's cache), and index.html for any other GET that accepts HTML outside the server's own
 * paths (the SPA fallback, so /c/<id> survives a reload). Files are looked up per request, so a
 * rebuild while the server runs is served at once. Anything else unmatched answers SPEC §4's
 * not_found. When web/dist is missing the fallback answers a short page saying how to build it.
 */
export async function registerWebRoutes(app: FastifyInstance, options: { distDir?: string } = {}): Promise<void> {
  const distDir = options.distDir ?? webDistDir;

  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: distDir, serve: false, index: false, cacheControl: false });

    scope.get('/*', { schema: { hide: true } }, async (request, reply) => {
      const pathname = decodePath(request.url);
      if (isServerPath(pathname)) throw new AppError('not_found', `Route GET ${pathname} not found`);
      if (pathname !== '/' && isFile(path.join(distDir, pathname), distDir)) {
        const immutable = pathname.startsWith('/assets/');
        reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        return reply.sendFile(pathname.slice(1));
      }
      if (!(request.headers.accept ?? '').includes('text/html'))
        throw new AppError('not_found', `Route GET ${pathname} not found`);
      reply.header('cache-control', 'no-cache');
      if (!existsSync(path.join(distDir, 'index.html')))
        return reply.status(503).type('text/html; charset=utf-8').send(notBuiltPage);
      return reply.sendFile('index.html');
    });
  });
}

function decodePath(url: string): string {
  const raw = url.split('?')[0] ?? '/';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError('not_found', `Route GET ${raw} not found`);
  }
}

function isServerPath(pathname: string): boolean {
  return serverPrefixes.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

/** A regular file inside `root` (never outside it, whatever `..` the path holds). */
function isFile(candidate: string, root: string): boolean {
  const resolved = path.resolve(candidate);
  if (!resolved.startsWith(path.resolve(root) + path.sep)) return false;
  try {
    return statSync(resolved).isFile();
  } catch {
    return false;
  }
}
