import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandling } from '../src/http/error-handler.ts';
import { registerWebRoutes } from '../src/http/web-routes.ts';

async function serve(
  distDir: string,
): Promise<{ app: FastifyInstance; get: (url: string, accept?: string) => Promise<Response> }> {
  const app = Fastify();
  installErrorHandling(app);
  app.get('/api/v1/me', async () => ({ ok: true }));
  await registerWebRoutes(app, { distDir });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, get: (url, accept = 'text/html') => fetch(base + url, { headers: { accept } }) };
}

describe('serving the web client', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'chorus-web-'));
  const dist = path.join(root, 'dist');
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Chorus</title>');
    writeFileSync(path.join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(path.join(root, 'secret.txt'), 'outside');
    server = await serve(dist);
  });

  after(async () => {
    await server?.app.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('answers index.html at / and at client routes for browsers, uncached', async () => {
    for (const url of ['/', '/c/0190-abc', '/c/0190-abc?x=1']) {
      const response = await server.get(url);
      assert.equal(response.status, 200, url);
      assert.match(await response.text(), /<title>Chorus<\/title>/);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
    }
  });

  test('serves hashed assets with a year of cache', async () => {
    const response = await server.get('/assets/app-1234.js', '*/*');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  });

  test('leaves the server paths, missing files, non-HTML requests and paths outside dist to not_found', async () => {
    assert.deepEqual(await (await server.get('/api/v1/me')).json(), { ok: true });
    for (const [url, accept] of [
      ['/api/v1/nothing', 'text/html'],
      ['/v1/nothing', 'text/html'],
      ['/metrics/x', 'text/html'],
      ['/assets/missing.js', '*/*'],
      ['/c/abc', 'application/json'],
      ['/%2e%2e/secret.txt', '*/*'],
    ] as const) {
      const response = await server.get(url, accept);
      assert.equal(response.status, 404, url);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'not_found');
    }
    const malformed = await server.get('/%E0%A4%A');
    assert.equal(malformed.status, 400);
  });

  test('explains how to build the client when web/dist is missing', async () => {
    const unbuilt = await serve(path.join(root, 'nothing-here'));
    try {
      const response = await unbuilt.get('/');
      assert.equal(response.status, 503);
      assert.match(await response.text(), /npm run build:web/);
    } finally {
      await unbuilt.app.close();
    }
  });
});
