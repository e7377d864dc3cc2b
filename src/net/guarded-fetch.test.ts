import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../errors/app-error.ts';
import { createGuardedFetch } from './guarded-fetch.ts';
import { createOutboundPolicy } from './url-policy.ts';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  return error;
}

/** A loopback HTTP server recording the Host header of each request it gets. */
async function listen(handler: (request: IncomingMessage) => { status?: number; location?: string; body?: string }) {
  const hosts: string[] = [];
  const server: Server = createServer((request, response) => {
    hosts.push(request.headers.host ?? '');
    const answer = handler(request);
    response.writeHead(answer.status ?? 200, answer.location ? { location: answer.location } : {});
    response.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hosts,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('guarded fetch', () => {
  let target: Awaited<ReturnType<typeof listen>>;
  let entry: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    target = await listen(() => ({ body: 'internal' }));
    entry = await listen((request) =>
      request.url === '/ok' ? { body: 'fine' } : { status: 302, location: `http://127.0.0.1:${target.port}/` },
    );
  });
  after(async () => {
    await target.close();
    await entry.close();
  });

  it('checks every redirect hop, refusing a redirect into a range that is not allow-listed', async () => {
    const guarded = createGuardedFetch(createOutboundPolicy([`127.0.0.1:${entry.port}`]));
    assert.equal(await (await guarded(`http://127.0.0.1:${entry.port}/ok`)).text(), 'fine');
    const refused = await refusal(guarded(`http://127.0.0.1:${entry.port}/redirect`));
    assert.equal(refused.code, 'forbidden');
    assert.match(refused.message, /loopback/);
    const both = createGuardedFetch(createOutboundPolicy([`127.0.0.1:${entry.port}`, `127.0.0.1:${target.port}`]));
    assert.equal(await (await both(`http://127.0.0.1:${entry.port}/redirect`)).text(), 'internal');
  });

  it('refuses a public-looking name that resolves to a private address, before connecting', async () => {
    const before = target.hosts.length;
    const asked: string[] = [];
    const rebinding = async (hostname: string) => {
      asked.push(hostname);
      return ['127.0.0.1'];
    };
    const guarded = createGuardedFetch(createOutboundPolicy([]), rebinding);
    const refused = await refusal(guarded(`http://public.example:${target.port}/`));
    assert.equal(refused.code, 'forbidden');
    assert.match(refused.message, /"public\.example" resolves to 127\.0\.0\.1, which is loopback/);
    assert.deepEqual(refused.details, { host: 'public.example', address: '127.0.0.1', rule: 'loopback' });
    assert.deepEqual(asked, ['public.example'], 'resolved once: the address checked is the address used');
    assert.equal(target.hosts.length, before, 'nothing reached the private address');
  });

  it('refuses a name when any of its addresses is private', async () => {
    const guarded = createGuardedFetch(createOutboundPolicy([]), async () => ['93.184.216.34', '10.0.0.5']);
    const refused = await refusal(guarded('http://mixed.example/'));
    assert.equal(refused.code, 'forbidden');
    assert.match(refused.message, /10\.0\.0\.5, which is private/);
  });

  it('connects to the address it checked when the allow-list admits it, keeping the Host header', async () => {
    const before = target.hosts.length;
    const guarded = createGuardedFetch(createOutboundPolicy(['127.0.0.0/8']), async () => ['127.0.0.1']);
    const response = await guarded(`http://service.internal:${target.port}/`);
    assert.equal(await response.text(), 'internal');
    assert.deepEqual(target.hosts.slice(before), [`service.internal:${target.port}`]);
  });

  it('answers invalid_request for a name that does not resolve and for other schemes', async () => {
    const guarded = createGuardedFetch(createOutboundPolicy([]), async () => {
      throw new Error('ENOTFOUND');
    });
    assert.equal((await refusal(guarded('http://nowhere.example/'))).code, 'invalid_request');
    assert.equal((await refusal(guarded('file:///etc/passwd'))).code, 'invalid_request');
  });

  it('accepts a Request object, sending its method, headers and body', async () => {
    let seen: { method?: string; header?: string; body?: string } = {};
    const echo = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen = { method: request.method, header: request.headers['x-key'] as string, body: Buffer.concat(chunks).toString() };
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as AddressInfo).port;
    try {
      const guarded = createGuardedFetch(createOutboundPolicy([`127.0.0.1:${port}`]));
      const request = new Request(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'x-key': 'k1' }, body: 'payload' });
      assert.equal(await (await guarded(request)).text(), 'ok');
      assert.deepEqual(seen, { method: 'POST', header: 'k1', body: 'payload' });
    } finally {
      echo.closeAllConnections();
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});
