import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createNodeHttpFetch } from './node-http-fetch.ts';

describe('createNodeHttpFetch', () => {
  const fetch = createNodeHttpFetch();
  let server: Server;
  let baseUrl = '';

  before(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/echo') {
          response.writeHead(201, { 'content-type': 'application/json', 'x-seen-method': request.method ?? '' });
          response.end(Buffer.concat(chunks));
        } else if (request.url === '/gzip') {
          response.writeHead(200, { 'content-encoding': 'gzip' });
          response.end(gzipSync('compressed body'));
        } else if (request.url === '/stall') {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write('data: first\n\n');
        } else if (request.url === '/cut') {
          response.writeHead(200, { 'content-length': '100' });
          response.write('partial');
          setTimeout(() => response.socket?.destroy(), 5);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the method, headers and body and returns status, headers and body', async () => {
    const response = await fetch(`${baseUrl}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('x-seen-method'), 'POST');
    assert.deepEqual(await response.json(), { a: 1 });
  });

  it('decodes a gzip body', async () => {
    assert.equal(await (await fetch(`${baseUrl}/gzip`)).text(), 'compressed body');
  });

  it('errors the body with the abort reason when the signal aborts mid-stream', async () => {
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/stall`, { signal: controller.signal });
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: first\n\n');
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(reader.read(), (error) => error === reason);
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    await assert.rejects(fetch(`${baseUrl}/echo`, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('reports a refused connection as TypeError "fetch failed" and a cut body as "terminated"', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(
      fetch(`http://127.0.0.1:${port}/`),
      (error) => error instanceof TypeError && error.message === 'fetch failed',
    );
    const response = await fetch(`${baseUrl}/cut`);
    await assert.rejects(response.text(), (error) => error instanceof TypeError && error.message === 'terminated');
  });
});
