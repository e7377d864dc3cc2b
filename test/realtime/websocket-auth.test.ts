import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { presenceTopic } from '../../src/bus/event-bus.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { TestClient, wsUrl } from './client.ts';

/** Resolves with the HTTP status of a refused upgrade (rejects if the upgrade succeeds). */
function refusedStatus(server: TestServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(server), { headers });
    ws.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.destroy();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('upgrade was accepted'));
    });
    ws.on('error', () => {});
  });
}

describe('websocket authentication, origin and limits', () => {
  let server: TestServer;
  let alice: Session;

  // The default heartbeat (15 s): a 100 ms one would drop healthy test clients whenever the loaded
  // machine stalls this process (PGlite runs queries on its thread) for two beats.
  before(async () => {
    server = await startTestServer({ env: { CHORUS_ALLOWED_ORIGINS: 'https://app.example.com' } });
    alice = await server.register('acme', 'alice');
  });
  after(() => server.close());

  it('refuses a bad or expired token and an unknown API key on the upgrade with 401', async () => {
    assert.equal(await refusedStatus(server, { authorization: 'Bearer not-a-token' }), 401);
    const expired = await server.context.signer.signAccessToken(alice.user.id, alice.workspace.id, -60);
    assert.equal(await refusedStatus(server, { authorization: `Bearer ${expired}` }), 401);
    assert.equal(await refusedStatus(server, { authorization: 'Bearer chorus_not-a-real-key' }), 401);
  });

  it('refuses a foreign Origin with 403 and accepts its own origin, an allowed one and none', async () => {
    const token = { authorization: `Bearer ${alice.accessToken}` };
    assert.equal(await refusedStatus(server, { ...token, origin: 'https://evil.example' }), 403);
    assert.equal(await refusedStatus(server, { ...token, origin: 'null' }), 403);
    for (const origin of [server.url, 'https://app.example.com', undefined]) {
      const client = await TestClient.connect(server, alice.accessToken, { headers: origin ? { origin } : {} });
      await client.close();
    }
  });

  it('authenticates with a first auth frame and answers with an ack', async () => {
    const client = await TestClient.connect(server);
    const ack = await client.request({ type: 'auth', token: alice.accessToken });
    assert.deepEqual(ack, { type: 'ack', id: ack.id, userId: alice.user.id });
    assert.equal((await client.request({ type: 'ping' })).type, 'pong');
    await client.close();
  });

  it('closes with 4401 when the first frame is not auth or its token is bad', async () => {
    const notAuth = await TestClient.connect(server);
    notAuth.send({ type: 'ping' });
    assert.equal((await notAuth.closed).code, 4401);
    const badToken = await TestClient.connect(server);
    const expired = await server.context.signer.signAccessToken(alice.user.id, alice.workspace.id, -60);
    badToken.send({ type: 'auth', token: expired });
    assert.equal((await badToken.closed).code, 4401);
  });

  it('closes a connection when its token expires unless the client re-authenticates', async () => {
    // Both connect with a lasting token and only then take the short-lived one, so the work that
    // must happen before it expires (two re-authentications) is as short as it can be.
    const renewed = await TestClient.connect(server, alice.accessToken);
    const expiring = await TestClient.connect(server, alice.accessToken);
    const shortLived = await server.context.signer.signAccessToken(alice.user.id, alice.workspace.id, 3);
    assert.equal((await expiring.request({ type: 'auth', token: shortLived })).type, 'ack');
    assert.equal((await renewed.request({ type: 'auth', token: shortLived })).type, 'ack');
    assert.equal((await renewed.request({ type: 'auth', token: alice.accessToken })).type, 'ack');
    const closed = await expiring.closed;
    assert.equal(closed.code, 4401);
    assert.equal(closed.reason, 'token expired');
    assert.equal((await renewed.request({ type: 'ping' })).type, 'pong', 'the renewed connection outlives the short-lived token');
    await renewed.close();
  });

  it('refuses re-authentication as another user', async () => {
    const bobServerSession = await server.register('other', 'bob');
    const client = await TestClient.connect(server, alice.accessToken);
    const answer = await client.request({ type: 'auth', token: bobServerSession.accessToken });
    assert.equal(answer.type, 'error');
    assert.equal(answer.code, 'forbidden');
    await client.close();
  });

  it('closes with 1009 on a frame over 1 MiB', async () => {
    const client = await TestClient.connect(server, alice.accessToken);
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1024 * 1024) }));
    assert.equal((await client.closed).code, 1009);
  });
});

describe('websocket heartbeat', () => {
  let server: TestServer;
  let alice: Session;

  before(async () => {
    server = await startTestServer({ env: { CHORUS_HEARTBEAT_INTERVAL_MS: '100' } });
    alice = await server.register('acme', 'alice');
  });
  after(() => server.close());

  // Presence is watched on the bus, not through a second socket: with a 100 ms heartbeat any
  // socket of this process can miss two beats when the machine is loaded, and only the dead one
  // is under test.
  it('drops a connection that stops answering pings and announces its user offline', async () => {
    const bob = await server.join(alice, 'bob');
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'direct', members: [{ type: 'user', id: bob.user.id }] },
    });
    assert.equal(created.status, 201);
    const announced: string[] = [];
    const waiters: Array<{ status: string; resolve: () => void }> = [];
    const stop = server.context.bus.subscribe(presenceTopic(alice.workspace.id), (event) => {
      if (event.type !== 'presence' || event.userId !== bob.user.id) return;
      announced.push(event.status as string);
      for (const waiter of waiters.filter((waiter) => waiter.status === event.status)) waiter.resolve();
    });
    const announcedAs = (status: string) => new Promise<void>((resolve) => waiters.push({ status, resolve }));
    const online = announcedAs('online');
    const offline = announcedAs('offline');
    // Bob's socket answers pings until he is online (so a slow start cannot end before it counts
    // him), then goes silent.
    const ws = new WebSocket(wsUrl(server), { headers: { authorization: `Bearer ${bob.accessToken}` }, autoPong: false });
    let answering = true;
    ws.on('ping', (data) => answering && ws.pong(data));
    const dead = new TestClient(ws);
    await online;
    answering = false;
    const closed = await dead.closed;
    assert.equal(closed.code, 1006, 'terminated without a close frame');
    await offline;
    stop();
    assert.deepEqual(announced, ['online', 'offline']);
  });
});

describe('websocket heartbeat over many connections', () => {
  let server: TestServer;
  let alice: Session;

  // A 1 s beat: 600 sockets of this process must each answer within two beats on a loaded machine.
  before(async () => {
    server = await startTestServer({ env: { CHORUS_HEARTBEAT_INTERVAL_MS: '1000' } });
    alice = await server.register('acme', 'alice');
  });
  after(() => server.close());

  it('pings every connection, a few hundred per event-loop turn, and keeps the ones that answer', async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: 600 },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(wsUrl(server), { headers: { authorization: `Bearer ${alice.accessToken}` } });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    try {
      await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('ping', resolve))));
      await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('ping', resolve))));
      assert.ok(
        sockets.every((ws) => ws.readyState === WebSocket.OPEN),
        'every answering connection is still open after two beats',
      );
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });
});

describe('websocket rate limit', () => {
  let server: TestServer;
  let alice: Session;

  before(async () => {
    server = await startTestServer({ env: { CHORUS_RATE_LIMIT_PER_SECOND: '5' } });
    alice = await server.register('acme', 'alice');
  });
  after(() => server.close());

  it('answers frames over the per-user rate limit with rate_limited and stays usable', async () => {
    const client = await TestClient.connect(server, alice.accessToken);
    const answers = await Promise.all(Array.from({ length: 30 }, () => client.request({ type: 'ping' })));
    const limited = answers.filter((answer) => answer.type === 'error');
    assert.ok(limited.length > 0, 'some frames are refused');
    assert.equal(limited[0].code, 'rate_limited');
    assert.ok(limited[0].retryAfterMs > 0);
    assert.ok(
      answers.some((answer) => answer.type === 'pong'),
      'frames within the limit are answered',
    );
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    await client.close();
  });
});
