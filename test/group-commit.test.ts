import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { messages } from '../src/db/schema.ts';
import { appendMessage } from '../src/messages/messages.ts';
import { loadHistory } from '../src/chain/build-context.ts';
import { testDatabases } from './support/databases.ts';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

/** Appends issued in one event-loop turn share one statement; each caller still gets its own outcome. */
for (const database of testDatabases()) {
  describe(`group commit on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let carol: Session;
    const rooms: string[] = [];
    let alicesOnly: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      carol = await server.join(alice, 'carol');
      for (const title of ['one', 'two', 'three']) {
        const created = await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title, members: [{ type: 'user', id: bob.user.id }] },
        });
        rooms.push(created.body.id);
      }
      alicesOnly = (
        await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title: 'mine' },
        })
      ).body.id;
    });
    after(() => server.close());

    const append = (session: Session, conversationId: string, content: string, clientMsgId?: string) =>
      appendMessage(server.context, {
        workspaceId: session.workspace.id,
        conversationId,
        sender: { type: 'user', id: session.user.id },
        content,
        clientMsgId,
      });

    const lastSeq = async (conversationId: string) =>
      (await server.request('GET', `/api/v1/conversations/${conversationId}`, { token: alice.accessToken })).body
        .lastSeq as number;

    it('gives each conversation contiguous seqs in arrival order and stores every message once', async () => {
      const bases = await Promise.all(rooms.map(lastSeq));
      const sends = Array.from({ length: 60 }, (_, index) => ({
        session: index % 2 ? alice : bob,
        room: index % 3,
        content: `m${index}`,
      }));
      const results = await Promise.all(sends.map((send) => append(send.session, rooms[send.room], send.content)));
      for (const [room, conversationId] of rooms.entries()) {
        const mine = results.filter((_, index) => sends[index].room === room).map((result) => result.message);
        assert.deepEqual(
          mine.map((message) => message.seq),
          Array.from({ length: 20 }, (_, index) => bases[room] + index + 1),
          'seqs follow the order of the appends',
        );
        assert.ok(mine.every((message) => message.conversationId === conversationId));
        const history = await server.request(
          'GET',
          `/api/v1/conversations/${conversationId}/messages?afterSeq=${bases[room]}&limit=100`,
          {
            token: bob.accessToken,
          },
        );
        assert.deepEqual(
          history.body.items.map((message: { content: string; seq: number }) => [message.seq, message.content]),
          mine.map((message) => [message.seq, message.content]),
        );
        assert.equal(await lastSeq(conversationId), bases[room] + 20);
      }
    });

    it('fails only the appends that are wrong, leaving no seq gap', async () => {
      const before = await lastSeq(rooms[0]);
      const first = await append(alice, rooms[0], 'kept', 'k-1');
      const outcomes = await Promise.allSettled([
        append(bob, rooms[0], 'a'),
        append(carol, rooms[0], 'not a member'),
        append(alice, rooms[0], 'kept', 'k-1'),
        append(alice, rooms[0], 'changed', 'k-1'),
        append(bob, alicesOnly, 'not a member either'),
        append(alice, rooms[0], 'b', 'twice-in-one-turn'),
        append(alice, rooms[0], 'b', 'twice-in-one-turn'),
        append(bob, rooms[0], 'c'),
      ]);
      const [ok, notMember, repeat, conflicting, notMember2, once, again, last] = outcomes;
      assert.equal(ok.status, 'fulfilled');
      assert.equal(notMember.status === 'rejected' && notMember.reason.code, 'not_found');
      assert.equal(notMember2.status === 'rejected' && notMember2.reason.code, 'not_found');
      assert.ok(repeat.status === 'fulfilled' && !repeat.value.created && repeat.value.message.id === first.message.id);
      assert.equal(conflicting.status === 'rejected' && conflicting.reason.code, 'conflict');
      assert.ok(once.status === 'fulfilled' && again.status === 'fulfilled');
      assert.equal(once.value.message.id, again.value.message.id, 'one message for a clientMsgId repeated in one turn');
      assert.equal(last.status, 'fulfilled');
      const history = await server.request('GET', `/api/v1/conversations/${rooms[0]}/messages?afterSeq=${before}&limit=100`, {
        token: bob.accessToken,
      });
      assert.deepEqual(
        history.body.items.map((message: { seq: number }) => message.seq),
        [1, 2, 3, 4].map((offset) => before + offset),
        'no gap: kept, a, b, c',
      );
      assert.deepEqual(
        history.body.items.map((message: { content: string }) => message.content),
        ['kept', 'a', 'b', 'c'],
      );
    });

    it('answers a removed member’s repeated clientMsgId with not_found, as a new send', async () => {
      const room = (
        await server.request('POST', '/api/v1/conversations', {
          token: alice.accessToken,
          body: { kind: 'group', title: 'leaving', members: [{ type: 'user', id: bob.user.id }] },
        })
      ).body.id;
      await append(bob, room, 'before leaving', 'leave-1');
      const removed = await server.request('DELETE', `/api/v1/conversations/${room}/members/${bob.user.id}`, {
        token: alice.accessToken,
      });
      assert.equal(removed.status, 204);
      const outcomes = await Promise.allSettled([
        append(bob, room, 'before leaving', 'leave-1'),
        append(alice, room, 'still here'),
      ]);
      assert.equal(outcomes[0].status === 'rejected' && outcomes[0].reason.code, 'not_found');
      assert.equal(outcomes[1].status, 'fulfilled');
    });

    it('moves each sender’s read cursor to their last message of the group', async () => {
      await Promise.all([append(alice, rooms[1], 'x'), append(bob, rooms[1], 'y'), append(alice, rooms[1], 'z')]);
      const { body } = await server.request('GET', `/api/v1/conversations/${rooms[1]}`, { token: alice.accessToken });
      const top = body.lastSeq as number;
      const cursor = (userId: string) => body.members.find((member: { id: string }) => member.id === userId)?.lastReadSeq;
      assert.equal(cursor(alice.user.id), top);
      assert.equal(cursor(bob.user.id), top - 1);
    });

    // Awaited one at a time, each append is a group of one: the single-row statement stores it.
    describe('a single append', () => {
      it('takes the next seq, in order, and moves the sender’s read cursor', async () => {
        const before = await lastSeq(rooms[2]);
        const stored = [];
        for (const [index, session] of [alice, bob, alice].entries())
          stored.push((await append(session, rooms[2], `single ${index}`)).message);
        assert.deepEqual(
          stored.map((message) => message.seq),
          [1, 2, 3].map((offset) => before + offset),
        );
        assert.deepEqual(
          stored.map((message) => message.sender.handle),
          ['alice', 'bob', 'alice'],
        );
        const { body } = await server.request('GET', `/api/v1/conversations/${rooms[2]}`, { token: alice.accessToken });
        assert.equal(body.lastSeq, before + 3);
        const cursor = (userId: string) => body.members.find((member: { id: string }) => member.id === userId)?.lastReadSeq;
        assert.equal(cursor(alice.user.id), before + 3);
        assert.equal(cursor(bob.user.id), before + 2);
      });

      it('answers a retried clientMsgId with the first message, and a changed one with conflict', async () => {
        const first = await append(alice, rooms[2], 'retried', 'single-retry');
        const top = await lastSeq(rooms[2]);
        const again = await append(alice, rooms[2], 'retried', 'single-retry');
        assert.equal(again.created, false);
        assert.equal(again.message.id, first.message.id);
        assert.equal(again.message.seq, first.message.seq);
        await assert.rejects(append(alice, rooms[2], 'something else', 'single-retry'), { code: 'conflict' });
        // Another sender may use the same clientMsgId: it is scoped to its sender.
        const bobs = await append(bob, rooms[2], 'retried', 'single-retry');
        assert.equal(bobs.created, true);
        assert.equal(bobs.message.seq, top + 1, 'a retry takes no seq');
      });

      it('refuses a sender who is not a member, or a conversation of another workspace, taking no seq', async () => {
        const top = await lastSeq(rooms[2]);
        await assert.rejects(append(carol, rooms[2], 'not a member'), { code: 'not_found' });
        await assert.rejects(append(bob, alicesOnly, 'not a member either', 'c-1'), { code: 'not_found' });
        await assert.rejects(
          appendMessage(server.context, {
            workspaceId: '00000000-0000-7000-8000-000000000000',
            conversationId: rooms[2],
            sender: { type: 'user', id: alice.user.id },
            content: 'wrong workspace',
          }),
          { code: 'not_found' },
        );
        assert.equal(await lastSeq(rooms[2]), top);
        assert.equal((await append(bob, rooms[2], 'next')).message.seq, top + 1);
      });

      it('stores an agent’s message under its own handle, with every field of the input', async () => {
        const root = (await append(alice, rooms[2], 'a thread root')).message;
        const runId = '01900000-0000-7000-8000-0000000000aa';
        const forwardedFrom = { messageId: root.id, conversationId: rooms[2], senderHandle: 'alice' };
        const parts = [{ type: 'text', text: "it's" }];
        const { message } = await appendMessage(server.context, {
          workspaceId: alice.workspace.id,
          conversationId: rooms[2],
          // An agent sender names its handle; it needs no membership row.
          sender: { type: 'agent', id: '01900000-0000-7000-8000-0000000000bb', handle: 'helper' },
          content: "it's '' quoted",
          threadRootId: root.id,
          onBehalfOf: bob.user.id,
          status: 'streaming',
          runId,
          parts,
          forwardedFrom,
        });
        assert.equal(message.seq, root.seq + 1);
        assert.equal(message.sender.handle, 'helper');
        const [stored] = await server.context.db.select().from(messages).where(eq(messages.id, message.id));
        assert.equal(stored.seq, message.seq);
        assert.equal(stored.onBehalfOf, bob.user.id);
        assert.equal(stored.content, "it's '' quoted");
        assert.equal(stored.threadRootId, root.id);
        assert.equal(stored.status, 'streaming');
        assert.equal(stored.runId, runId);
        assert.deepEqual(stored.parts, parts);
        assert.deepEqual(stored.forwardedFrom, forwardedFrom);
      });
    });

    it("reads a reply's history through prepared statements: quoted text, threads, nothing after the trigger", async () => {
      const tricky = `it's "quoted" \\ '' --; ${'é'.repeat(3)}`;
      const root = (await append(alice, alicesOnly, tricky)).message;
      await append(alice, alicesOnly, 'top level, not in the thread');
      const inThread = (
        await appendMessage(server.context, {
          workspaceId: alice.workspace.id,
          conversationId: alicesOnly,
          sender: { type: 'user', id: alice.user.id },
          content: 'a reply in the thread',
          threadRootId: root.id,
        })
      ).message;
      await append(alice, alicesOnly, 'later');
      const thread = await loadHistory(server.context.db, inThread, alice.user.id);
      assert.deepEqual(
        thread.map((entry) => entry.content),
        [tricky, 'a reply in the thread'],
      );
      const topLevel = await loadHistory(server.context.db, root, alice.user.id);
      assert.equal(topLevel.at(-1)!.content, tricky, 'the history ends at the trigger');
      assert.ok(!topLevel.some((entry) => entry.content === 'later'));
    });
  });
}
