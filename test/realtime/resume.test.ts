import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { SseReader, TestClient } from './client.ts';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

for (const database of testDatabases()) {
  describe(`resume on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let conversationId: string;
    const lastSeq = async () =>
      (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken })).body
        .lastSeq as number;
    const post = async (content: string, session = alice) => {
      const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: session.accessToken,
        body: { content },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body as { id: string; seq: number };
    };

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl(), env: { CHORUS_HEARTBEAT_INTERVAL_MS: '200' } });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      const created = await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'resume', members: [{ type: 'user', id: bob.user.id }] },
      });
      conversationId = created.body.id;
    });
    after(() => server.close());

    it('resumes after 120 missed messages with exactly those, in order, while live messages keep coming', async () => {
      const seen = await lastSeq();
      for (const index of range(1, 120)) await post(`missed ${index}`);
      const bobTab = await TestClient.connect(server, bob.accessToken);
      const aliceTab = await TestClient.connect(server, alice.accessToken);
      const firstPage = bobTab.request({ type: 'sync', conversationId, afterSeq: seen, limit: 100 });
      // Live sends race the sync: they must neither duplicate nor jump ahead of the replay.
      const live = Promise.all(
        range(1, 5).map((index) =>
          aliceTab.request({ type: 'send', conversationId, clientMsgId: `live-${index}`, content: `live ${index}` }),
        ),
      );
      const first = await firstPage;
      assert.deepEqual(first, { type: 'ack', id: first.id, conversationId, lastSeq: seen + 100, hasMore: true });
      const second = await bobTab.request({ type: 'sync', conversationId, afterSeq: first.lastSeq, limit: 100 });
      assert.equal(second.type, 'ack');
      await live;
      const end = seen + 125;
      if (second.hasMore) {
        const third = await bobTab.request({ type: 'sync', conversationId, afterSeq: second.lastSeq, limit: 100 });
        assert.equal(third.hasMore, false);
      }
      await bobTab.take((frame) => frame.type === 'message' && frame.message.seq === end);
      assert.deepEqual(bobTab.messageSeqs(conversationId), range(seen + 1, end), 'every message once, in order');
      const replayed = bobTab.frames.filter((frame) => frame.type === 'message' && frame.message.seq <= seen + 120);
      assert.deepEqual(
        replayed.map((frame) => frame.message.content),
        range(1, 120).map((index) => `missed ${index}`),
      );
      await Promise.all([bobTab.close(), aliceTab.close()]);
    });

    it('delivers concurrent sends to every connection in seq order without gaps', async () => {
      const observer = await TestClient.connect(server, bob.accessToken);
      const start = await lastSeq();
      await Promise.all(range(1, 40).map((index) => post(`burst ${index}`, index % 2 ? alice : bob)));
      await observer.take((frame) => frame.type === 'message' && frame.message.seq === start + 40);
      assert.deepEqual(observer.messageSeqs(conversationId), range(start + 1, start + 40));
      await observer.close();
    });

    it('replays from Last-Event-ID over SSE, then follows live without duplicates', async () => {
      const start = await lastSeq();
      for (const index of range(1, 5)) await post(`sse ${index}`);
      const url = `${server.url}/api/v1/conversations/${conversationId}/events`;
      const stream = await SseReader.open(url, {
        authorization: `Bearer ${bob.accessToken}`,
        'last-event-id': String(start + 2),
      });
      assert.equal(stream.status, 200);
      await stream.take((event) => event.id === String(start + 5));
      await post('sse live');
      const live = await stream.take((event) => event.event === 'message' && event.data.message.content === 'sse live');
      assert.equal(live.id, String(start + 6));
      assert.deepEqual(stream.messageSeqs(), range(start + 3, start + 6));
      const heartbeat = await stream.take((event) => event.comment === 'heartbeat');
      assert.ok(heartbeat);
      stream.close();

      const browser = await SseReader.open(`${url}?access_token=${bob.accessToken}&lastEventId=${start + 5}`);
      await browser.take((event) => event.id === String(start + 6));
      const typing = await TestClient.connect(server, alice.accessToken);
      typing.send({ type: 'typing', conversationId });
      const relayed = await browser.take((event) => event.event === 'typing');
      assert.deepEqual(relayed.data, { type: 'typing', conversationId, userId: alice.user.id });
      assert.deepEqual(browser.messageSeqs(), [start + 6]);
      browser.close();
      await typing.close();
    });

    it('refuses SSE without credentials or membership, and ends it when the user leaves', async () => {
      const url = `${server.url}/api/v1/conversations/${conversationId}/events`;
      assert.equal((await server.request('GET', `/api/v1/conversations/${conversationId}/events`)).status, 401);
      const outsider = await server.register('elsewhere', 'mallory');
      const refused = await server.request('GET', `/api/v1/conversations/${conversationId}/events`, {
        token: outsider.accessToken,
      });
      assert.equal(refused.status, 404);
      const badPosition = await server.request('GET', `/api/v1/conversations/${conversationId}/events`, {
        token: bob.accessToken,
        headers: { 'last-event-id': 'yesterday' },
      });
      assert.equal(badPosition.status, 400);
      const stream = await SseReader.open(url, { authorization: `Bearer ${bob.accessToken}` });
      await stream.take((event) => event.comment === 'heartbeat');
      const removed = await server.request('DELETE', `/api/v1/conversations/${conversationId}/members/${bob.user.id}`, {
        token: bob.accessToken,
      });
      assert.equal(removed.status, 204);
      await stream.ended;
    });
  });

  describe(`resume across a restart on ${database.name}`, () => {
    it('finishes in-flight frames and ends streams at shutdown, then syncs what was sent while away', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-restart-'));
      const databaseUrl = await database.createUrl();
      try {
        const first = await startTestServer({ databaseUrl, dataDir, keepDataDir: true });
        const alice = await first.register('acme', 'alice');
        const created = await first.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title: 'before', members: [] },
        });
        const conversationId = created.body.id as string;
        const client = await TestClient.connect(first, alice.accessToken);
        for (const index of range(1, 3))
          await client.request({ type: 'send', conversationId, clientMsgId: `a${index}`, content: `before ${index}` });
        await client.take((frame) => frame.type === 'message' && frame.message.seq === 3);
        // A frame still being handled at shutdown is finished and answered before the socket closes.
        let release: () => void = () => {};
        let entered: () => void = () => {};
        const inSeam = new Promise<void>((resolve) => (entered = resolve));
        first.context.cancelRun = () => {
          entered();
          return new Promise<void>((resolve) => (release = resolve));
        };
        const stream = await SseReader.open(`${first.url}/api/v1/conversations/${conversationId}/events`, {
          authorization: `Bearer ${alice.accessToken}`,
        });
        const runId = '0190d5a4-8f1e-7000-8000-000000000002';
        const cancelAnswer = client.request({ type: 'cancel', runId });
        await inSeam;
        const closing = first.close();
        // Hold the frame well into the shutdown: the ack must still come before the 1001 close.
        setTimeout(() => release(), 100);
        assert.equal((await cancelAnswer).type, 'ack');
        assert.equal((await client.closed).code, 1001, 'shutdown closes sockets with going-away');
        await stream.ended;
        await closing;

        const second = await startTestServer({ databaseUrl, dataDir, keepDataDir: true });
        try {
          for (const index of range(1, 4)) {
            const sent = await second.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
              token: alice.accessToken,
              body: { content: `after ${index}` },
            });
            assert.equal(sent.status, 201);
          }
          const resumed = await TestClient.connect(second, alice.accessToken);
          const ack = await resumed.request({ type: 'sync', conversationId, afterSeq: 3 });
          assert.deepEqual(ack, { type: 'ack', id: ack.id, conversationId, lastSeq: 7, hasMore: false });
          assert.deepEqual(resumed.messageSeqs(conversationId), [4, 5, 6, 7]);
          await resumed.close();
        } finally {
          await second.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
