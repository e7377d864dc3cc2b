import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../src/errors/app-error.ts';
import { conversationTopic, userTopic } from '../../src/bus/event-bus.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { TestClient } from './client.ts';

for (const database of testDatabases()) {
  describe(`websocket frames on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let carol: Session;
    let general: string;
    const clients: TestClient[] = [];

    const connect = async (session: Session) => {
      const client = await TestClient.connect(server, session.accessToken);
      clients.push(client);
      return client;
    };
    const createConversation = async (owner: Session, members: Session[], kind = 'group') => {
      const response = await server.request('POST', '/api/v1/conversations', {
        token: owner.accessToken,
        body: { kind, title: 'room', members: members.map((member) => ({ type: 'user', id: member.user.id })) },
      });
      assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
      return response.body.id as string;
    };
    const post = async (session: Session, conversationId: string, content: string) => {
      const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: session.accessToken,
        body: { content },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    };

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      carol = await server.join(alice, 'carol');
      general = await createConversation(alice, [bob]);
    });
    after(async () => {
      for (const client of clients) client.ws.terminate();
      await server.close();
    });

    it('acks a send with the stored message and delivers it to every tab of every member', async () => {
      const [aliceTab1, aliceTab2, bobTab] = [await connect(alice), await connect(alice), await connect(bob)];
      const ack = await aliceTab1.request({ type: 'send', conversationId: general, clientMsgId: 'm-1', content: 'hello' });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      assert.equal(ack.message.content, 'hello');
      assert.equal(ack.message.sender.id, alice.user.id);
      for (const client of [aliceTab1, aliceTab2, bobTab]) {
        const frame = await client.take((received) => received.type === 'message' && received.message.id === ack.message.id);
        assert.equal(frame.message.seq, ack.message.seq);
      }
      const again = await aliceTab2.request({ type: 'send', conversationId: general, clientMsgId: 'm-1', content: 'hello' });
      assert.equal(again.message.id, ack.message.id, 'a repeated clientMsgId acks the first message');
    });

    it('answers ping with pong and relays typing and read receipts to the other members', async () => {
      const [aliceTab, bobTab] = [await connect(alice), await connect(bob)];
      const pong = await bobTab.request({ type: 'ping' });
      assert.equal(pong.type, 'pong');
      bobTab.send({ type: 'typing', conversationId: general });
      const typing = await aliceTab.take((frame) => frame.type === 'typing');
      assert.deepEqual(typing, { type: 'typing', conversationId: general, userId: bob.user.id });
      const message = await post(alice, general, 'read me');
      const read = await bobTab.request({ type: 'read', conversationId: general, seq: message.seq });
      assert.deepEqual(read, { type: 'ack', id: read.id, conversationId: general, seq: message.seq });
      const receipt = await aliceTab.take((frame) => frame.type === 'read' && frame.memberId === bob.user.id);
      assert.deepEqual(receipt, { type: 'read', conversationId: general, memberId: bob.user.id, seq: message.seq });
    });

    it('follows a conversation the user joins after connecting', async () => {
      const carolTab = await connect(carol);
      const conversationId = await createConversation(alice, [carol]);
      const joined = await carolTab.take((frame) => frame.type === 'conversation.joined');
      assert.equal(joined.conversation.id, conversationId);
      const message = await post(alice, conversationId, 'welcome, carol');
      const frame = await carolTab.take(
        (received) => received.type === 'message' && received.message.conversationId === conversationId,
      );
      assert.equal(frame.message.id, message.id);
    });

    it('stops delivering a conversation the user was removed from', async () => {
      const room = await createConversation(alice, [bob, carol]);
      const carolTab = await connect(carol);
      const removed = await server.request('DELETE', `/api/v1/conversations/${room}/members/${carol.user.id}`, {
        token: alice.accessToken,
      });
      assert.equal(removed.status, 204, JSON.stringify(removed.body));
      const left = await carolTab.take((frame) => frame.type === 'conversation.left');
      assert.equal(left.conversationId, room);
      await post(alice, room, 'after carol left');
      const direct = await createConversation(alice, [carol], 'direct');
      const marker = await post(alice, direct, 'marker');
      await carolTab.take((frame) => frame.type === 'message' && frame.message.id === marker.id);
      assert.deepEqual(carolTab.messageSeqs(room), [], 'nothing from the conversation carol left');
      const sync = await carolTab.request({ type: 'sync', conversationId: room, afterSeq: 0 });
      assert.equal(sync.type, 'error');
      assert.equal(sync.code, 'not_found');
    });

    it('tells the members still in a group its new member list when someone is added, removed or leaves', async () => {
      const room = await createConversation(alice, [bob]);
      const [aliceTab, bobTab] = [await connect(alice), await connect(bob)];
      const handles = (frame: any) => frame.conversation.members.map((member: any) => member.handle).toSorted();
      const updated = (tab: TestClient) =>
        tab.take((frame) => frame.type === 'conversation.updated' && frame.conversationId === room);

      const added = await server.request('POST', `/api/v1/conversations/${room}/members`, {
        token: alice.accessToken,
        body: { type: 'user', id: carol.user.id },
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      for (const tab of [aliceTab, bobTab]) assert.deepEqual(handles(await updated(tab)), ['alice', 'bob', 'carol']);

      const again = await server.request('POST', `/api/v1/conversations/${room}/members`, {
        token: alice.accessToken,
        body: { type: 'user', id: carol.user.id },
      });
      assert.equal(
        again.status,
        200,
        'adding a member twice changes nothing (and sends no frame: the next one taken is the removal)',
      );

      const removed = await server.request('DELETE', `/api/v1/conversations/${room}/members/${carol.user.id}`, {
        token: alice.accessToken,
      });
      assert.equal(removed.status, 204);
      for (const tab of [aliceTab, bobTab]) assert.deepEqual(handles(await updated(tab)), ['alice', 'bob']);

      const left = await server.request('DELETE', `/api/v1/conversations/${room}/members/${bob.user.id}`, {
        token: bob.accessToken,
      });
      assert.equal(left.status, 204);
      assert.deepEqual(handles(await updated(aliceTab)), ['alice']);
      await bobTab.take((frame) => frame.type === 'conversation.left' && frame.conversationId === room);
    });

    it('renames a group for every member (conversation.updated); a direct conversation and an outsider are refused', async () => {
      const room = await createConversation(alice, [bob]);
      const bobTab = await connect(bob);
      const rename = (session: Session, conversationId: string, title: unknown) =>
        server.request('PATCH', `/api/v1/conversations/${conversationId}`, { token: session.accessToken, body: { title } });
      const renamed = await rename(bob, room, '  Launch plan  ');
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.title, 'Launch plan', 'any member may rename; the title is trimmed');
      const frame = await bobTab.take((received) => received.type === 'conversation.updated' && received.conversationId === room);
      assert.equal(frame.conversation.title, 'Launch plan');
      assert.equal((await rename(alice, room, null)).body.title, null, 'null clears it');

      assert.equal((await rename(alice, room, '')).status, 400);
      assert.equal((await rename(alice, room, 'x'.repeat(201))).status, 400);
      assert.equal((await rename(carol, room, 'Mine now')).status, 404, 'not a member');
      const direct = await createConversation(alice, [bob], 'direct');
      const refused = await rename(alice, direct, 'Us');
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_request');
      const stored = await server.request('GET', `/api/v1/conversations/${room}`, { token: alice.accessToken });
      assert.equal(stored.body.title, null, 'the refused renames changed nothing');
    });

    it('answers malformed frames with an error frame and keeps the connection usable', async () => {
      const bobTab = await connect(bob);
      bobTab.send('{not json');
      assert.deepEqual(await bobTab.take((frame) => frame.type === 'error'), {
        type: 'error',
        id: null,
        code: 'invalid_request',
        message: 'Frame is not valid JSON',
      });
      const unknown = await bobTab.request({ type: 'shout' });
      assert.equal(unknown.code, 'invalid_request');
      assert.match(unknown.message, /Unknown frame type/);
      const missing = await bobTab.request({ type: 'send', conversationId: general });
      assert.equal(missing.code, 'invalid_request');
      assert.match(missing.message, /clientMsgId/);
      const wrongType = await bobTab.request({ type: 'sync', conversationId: general, afterSeq: 'zero' });
      assert.equal(wrongType.code, 'invalid_request');
      const foreign = await createConversation(alice, [carol]);
      const notMember = await bobTab.request({ type: 'send', conversationId: foreign, clientMsgId: 'x', content: 'let me in' });
      assert.equal(notMember.code, 'not_found');
      const typingElsewhere = await bobTab.request({ type: 'typing', conversationId: foreign });
      assert.equal(typingElsewhere.code, 'not_found');
      bobTab.ws.send(Buffer.from('{}'), { binary: true });
      assert.equal((await bobTab.take((frame) => frame.type === 'error' && frame.id === null)).code, 'invalid_request');
      assert.equal((await bobTab.request({ type: 'ping' })).type, 'pong');
    });

    it('passes cancel to the run seam and reports its errors', async () => {
      const aliceTab = await connect(alice);
      const runId = '0190d5a4-8f1e-7000-8000-000000000001';
      const missing = await aliceTab.request({ type: 'cancel', runId });
      assert.equal(missing.code, 'not_found');
      const original = server.context.cancelRun;
      const cancelled: string[] = [];
      server.context.cancelRun = async (principal, id) => {
        if (principal.userId !== alice.user.id) throw new AppError('not_found', 'Run not found');
        cancelled.push(id);
      };
      try {
        const ack = await aliceTab.request({ type: 'cancel', runId });
        assert.deepEqual(ack, { type: 'ack', id: ack.id, runId });
        assert.deepEqual(cancelled, [runId]);
      } finally {
        server.context.cancelRun = original;
      }
    });

    it('forwards agent and user-topic events published on the bus as frames, and keeps internal ones back', async () => {
      const [aliceTab, bobTab] = [await connect(alice), await connect(bob)];
      const message = await post(alice, general, 'streamed later');
      const conversationEvents = [
        { type: 'message.delta', conversationId: general, messageId: message.id, delta: 'Hel' },
        { type: 'message.updated', message: { ...message, content: 'edited' } },
        { type: 'run.step', runId: '0190d5a4-8f1e-7000-8000-000000000003', conversationId: general, step: { kind: 'generate' } },
        { type: 'message.done', message: { ...message, status: 'complete' } },
        { type: 'member.internal', conversationId: general },
      ];
      for (const event of conversationEvents) await server.context.bus.publish(conversationTopic(general), event);
      for (const event of conversationEvents.slice(0, 4)) {
        assert.deepEqual(await bobTab.take((frame) => frame.type === event.type), event);
      }
      const advice = { type: 'advice', conversationId: general, suggestion: 'say thanks' };
      const request = {
        type: 'human.request',
        conversationId: general,
        runId: '0190d5a4-8f1e-7000-8000-000000000004',
        prompt: 'approve?',
      };
      await server.context.bus.publish(userTopic(alice.user.id), advice);
      await server.context.bus.publish(userTopic(alice.user.id), request);
      assert.deepEqual(await aliceTab.take((frame) => frame.type === 'advice'), advice);
      assert.deepEqual(await aliceTab.take((frame) => frame.type === 'human.request'), request);
      assert.equal((await bobTab.request({ type: 'ping' })).type, 'pong');
      assert.ok(
        !bobTab.frames.some((frame) => frame.type === 'advice' || frame.type.startsWith('member.')),
        'advice is private; member.* is internal',
      );
    });

    it('brings every tab of a user connecting at once up to date: conversations, one joined meanwhile, the presence snapshot', async () => {
      // The tabs share one read of the user's conversations and of who is online (connection.ts,
      // presence.ts); a conversation created while they start must still reach every one of them.
      const erin = await server.join(alice, 'erin');
      const before = await createConversation(alice, [erin]);
      const aliceTab = await connect(alice);
      const [tabs, during] = await Promise.all([
        Promise.all(Array.from({ length: 12 }, () => connect(erin))),
        createConversation(alice, [erin]),
      ]);
      for (const tab of tabs) {
        const snapshot = await tab.take((frame) => frame.type === 'presence' && frame.userId === alice.user.id);
        assert.equal(snapshot.status, 'online');
      }
      await aliceTab.take((frame) => frame.type === 'presence' && frame.userId === erin.user.id && frame.status === 'online');
      const [first, second] = [await post(alice, before, 'old room'), await post(alice, during, 'new room')];
      for (const tab of tabs) {
        for (const message of [first, second]) {
          const frame = await tab.take((received) => received.type === 'message' && received.message.id === message.id);
          assert.equal(frame.message.conversationId, message.conversationId);
        }
      }
    });

    it('shows a user online once across two tabs and offline when the last one closes', async () => {
      const dave = await server.join(alice, 'dave');
      await createConversation(alice, [dave]);
      const aliceTab = await connect(alice);
      const daveTab1 = await connect(dave);
      const online = await aliceTab.take((frame) => frame.type === 'presence' && frame.userId === dave.user.id);
      assert.equal(online.status, 'online');
      const daveTab2 = await connect(dave);
      const snapshot = await daveTab2.take((frame) => frame.type === 'presence' && frame.userId === alice.user.id);
      assert.equal(snapshot.status, 'online', 'a new connection learns who is online');
      await daveTab1.close();
      await daveTab2.close();
      const offline = await aliceTab.take((frame) => frame.type === 'presence' && frame.userId === dave.user.id);
      assert.equal(offline.status, 'offline');
      const daveFrames = aliceTab.frames.filter((frame) => frame.type === 'presence' && frame.userId === dave.user.id);
      assert.deepEqual(
        daveFrames.map((frame) => frame.status),
        ['online', 'offline'],
        'two tabs make one online and one offline',
      );
    });
  });
}
