import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  backoffDelayMs,
  ChorusApi,
  ChorusError,
  memoryTokenStore,
  Outbox,
  RealtimeClient,
  realtimeUrl,
  syncConversation,
  type Message,
  type ServerEvent,
} from '../web/src/client/index.ts';
import { applyMessage } from '../web/src/state/inbox.ts';
import { filterMentions, insertMention, mentionAt } from '../web/src/state/mentions.ts';
import { appendDelta, contiguousSeq, hasDeltaGap, mergeMessages, resumeSeq } from '../web/src/state/message-log.ts';
import { applyDeltas } from '../web/src/client/stream-text.ts';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

const password = 'correct horse battery';

function message(seq: number, fields: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    conversationId: 'c1',
    seq,
    threadRootId: null,
    sender: { type: 'user', id: 'u2', handle: 'bob' },
    onBehalfOf: null,
    content: `message ${seq}`,
    parts: [],
    status: 'complete',
    error: null,
    usage: null,
    runId: null,
    clientMsgId: null,
    createdAt: new Date(2026, 0, 1, 0, 0, seq).toISOString(),
    editedAt: null,
    deletedAt: null,
    updatedSeq: 0,
    replyCount: 0,
    lastReplyAt: null,
    reactions: [],
    forwardedFrom: null,
    ...fields,
  };
}

/** Resolves once `client` is open (authenticated). */
function opened(client: RealtimeClient): Promise<void> {
  if (client.status === 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.onOpen(() => {
      stop();
      resolve();
    });
  });
}

describe('web client module against a real server', () => {
  let server: TestServer;
  let alice: Session;
  let conversationId: string;

  before(async () => {
    server = await startTestServer();
    alice = await server.register('acme', 'alice');
    const bob = await server.join(alice, 'bob');
    const created = await server.request('POST', '/api/v1/conversations', {
      token: alice.accessToken,
      body: { kind: 'group', title: 'Client tests', members: [{ type: 'user', id: bob.user.id }] },
    });
    conversationId = created.body.id;
  });

  after(() => server?.close());

  test('signs in, refreshes a rejected access token once, and is signed out when the refresh token is revoked', async () => {
    let signedOut = 0;
    const tokens = memoryTokenStore();
    const api = new ChorusApi({ baseUrl: server.url, tokens, onSignedOut: () => signedOut++ });
    await api.login({ workspace: 'acme', handle: 'alice', password });
    const { refreshToken } = tokens.get()!;
    tokens.set({ accessToken: 'not-a-token', refreshToken });
    assert.equal((await api.me()).user.handle, 'alice');
    assert.notEqual(tokens.get()!.refreshToken, refreshToken, 'the pair rotated');

    const stale = tokens.get()!;
    await new ChorusApi({ baseUrl: server.url, tokens: memoryTokenStore(stale) }).logout();
    tokens.set({ accessToken: 'not-a-token', refreshToken: stale.refreshToken });
    await assert.rejects(api.me(), (error) => ChorusError.isInstance(error) && error.code === 'unauthorized');
    assert.equal(signedOut, 1);
    assert.equal(tokens.get(), null);
  });

  test('two clients sharing tokens (two tabs) refresh once between them, so the session survives', async () => {
    const tokens = memoryTokenStore();
    let queue = Promise.resolve();
    const lock = <T>(run: () => Promise<T>): Promise<T> => {
      const result = queue.then(run);
      queue = result.then(
        () => undefined,
        () => undefined,
      );
      return result;
    };
    const tabA = new ChorusApi({ baseUrl: server.url, tokens, lock });
    const tabB = new ChorusApi({ baseUrl: server.url, tokens, lock });
    await tabA.login({ workspace: 'acme', handle: 'alice', password });
    const expiring = tokens.get()!.accessToken;
    const [a, b] = await Promise.all([tabA.http.refreshTokens(expiring), tabB.http.refreshTokens(expiring)]);
    assert.deepEqual(a, b, 'the second tab reused the pair the first one got');
    assert.equal((await tabB.me()).user.handle, 'alice');
    const again = await tabA.http.refreshTokens(tokens.get()!.accessToken);
    assert.notEqual(again.refreshToken, a.refreshToken, 'the session was not revoked');
  });

  test('sends over the WebSocket with a clientMsgId stored once, and sync replays what a closed client missed', async (t) => {
    const client = new RealtimeClient({ url: realtimeUrl(server.url), getToken: async () => alice.accessToken });
    t.after(() => client.stop()); // a failed assertion must not leave it reconnecting
    const events: ServerEvent[] = [];
    client.onEvent((event) => events.push(event));
    client.start();
    await opened(client);
    const send = { type: 'send', conversationId, clientMsgId: 'client-1', content: 'hello' } as const;
    const first = (await client.request(send)).message as Message;
    const again = (await client.request(send)).message as Message;
    assert.equal(again.id, first.id);
    client.stop();
    await assert.rejects(client.request(send), (error) => ChorusError.isInstance(error) && error.code === 'closed');

    for (const content of ['two', 'three', 'four']) {
      await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content },
      });
    }
    const replayed: Message[] = [];
    const next = new RealtimeClient({ url: realtimeUrl(server.url), getToken: async () => alice.accessToken });
    t.after(() => next.stop()); // a failed assertion must not leave it reconnecting
    next.onEvent((event) => event.type === 'message' && replayed.push(event.message));
    next.start();
    await opened(next);
    const { lastSeq } = await syncConversation(next, conversationId, first.seq, { pageSize: 2 });
    assert.deepEqual(
      replayed.map((item) => [item.seq, item.content]),
      [
        [first.seq + 1, 'two'],
        [first.seq + 2, 'three'],
        [first.seq + 3, 'four'],
      ],
    );
    assert.equal(lastSeq, first.seq + 3);
    next.stop();
  });

  test('renews a token about to expire on the live connection, without reconnecting', async (t) => {
    const shortLived = await server.context.signer.signAccessToken(alice.user.id, alice.user.workspaceId, 3);
    const sent: string[] = [];
    class RecordingSocket extends WebSocket {
      override send(data: string): void {
        sent.push(JSON.parse(data).type);
        super.send(data);
      }
    }
    const asked: Array<string | undefined> = [];
    const client = new RealtimeClient({
      url: realtimeUrl(server.url),
      WebSocket: RecordingSocket,
      renewBeforeExpiryMs: 2_000,
      getToken: async (current) => {
        asked.push(current);
        return current ? alice.accessToken : shortLived;
      },
    });
    t.after(() => client.stop()); // a failed assertion must not leave it reconnecting
    let opens = 0;
    client.onOpen(() => opens++);
    client.start();
    await opened(client);
    // Past the short token's expiry: had it not been renewed, the server would have closed with 4401.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    assert.deepEqual(asked, [undefined, shortLived]);
    assert.deepEqual(
      sent.filter((type) => type === 'auth'),
      ['auth', 'auth'],
    );
    assert.equal(client.status, 'open');
    assert.equal(opens, 1);
    client.stop();
  });

  test('asks for a fresh token when the server refuses one, then connects', async (t) => {
    const asked: Array<string | undefined> = [];
    let stored = 'expired-token';
    const client = new RealtimeClient({
      url: realtimeUrl(server.url),
      backoff: { initialMs: 10, maxMs: 50 },
      getToken: async (rejected) => {
        asked.push(rejected);
        if (rejected) stored = alice.accessToken;
        return stored;
      },
    });
    t.after(() => client.stop()); // a failed assertion must not leave it reconnecting
    client.start();
    await opened(client);
    assert.deepEqual(asked.slice(0, 2), [undefined, 'expired-token'], 'refused once, then asked to refresh');
    assert.equal(client.status, 'open');
    client.stop();
  });
});

describe('web client module against a server that does not answer', () => {
  test('gives up on a hanging handshake and tries again with backoff', async (t) => {
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const statuses: string[] = [];
    const client = new RealtimeClient({
      url: `ws://127.0.0.1:${port}/api/v1/ws`,
      getToken: async () => 'token',
      requestTimeoutMs: 200,
      backoff: { initialMs: 20, maxMs: 40 },
    });
    t.after(() => client.stop()); // a failed assertion must not leave it reconnecting
    client.onStatus((status) => statuses.push(status));
    client.start();
    const deadline = Date.now() + 5_000;
    const attempts = () => statuses.filter((status) => status === 'connecting').length;
    while (attempts() < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    client.stop();
    for (const socket of held) socket.destroy();
    silent.close();
    assert.deepEqual(statuses.slice(0, 5), ['connecting', 'waiting', 'connecting', 'waiting', 'connecting']);
  });
});

describe('web client state rules', () => {
  test('backoff doubles from the initial delay, stays under the cap, and never drops below half', () => {
    const options = { initialMs: 500, maxMs: 30_000 };
    assert.equal(
      backoffDelayMs(0, options, () => 0),
      250,
    );
    assert.equal(
      backoffDelayMs(3, options, () => 0.999),
      3998,
    );
    assert.equal(
      backoffDelayMs(40, options, () => 0.999),
      29_985,
    );
  });

  test('merging keeps each seq once, in order, and a replayed streaming snapshot never undoes a final reply', () => {
    let log = mergeMessages({ items: [], hasOlder: false }, [message(2), message(1), message(2)]);
    assert.deepEqual(
      log.items.map((item) => item.seq),
      [1, 2],
    );
    log = mergeMessages(log, [message(3, { status: 'streaming', content: 'Hel' })]);
    log = appendDelta(log, 'm3', 'lo');
    assert.equal(log.items[2]!.content, 'Hello');
    log = mergeMessages(log, [message(3, { content: 'Hello!' })]);
    log = mergeMessages(log, [message(3, { status: 'streaming', content: 'Hel' })]);
    assert.equal(log.items[2]!.content, 'Hello!');
    assert.equal(appendDelta(log, 'm3', 'x'), log, 'deltas after the end are ignored');
    assert.equal(contiguousSeq(mergeMessages(log, [message(5)])), 3, 'sync resumes before a gap');
    const streaming = mergeMessages(log, [message(4, { status: 'streaming' }), message(5)]);
    assert.equal(resumeSeq(streaming), 3, 'and before a reply still streaming, to learn how it ended');
  });

  test('a copy read before an edit (lower updatedSeq) never undoes it, whichever is merged last', () => {
    const edited = message(1, { content: 'edited', editedAt: '2026-12-07T00:00:01.000Z', updatedSeq: 2 });
    const before = message(1, { content: 'message 1', updatedSeq: 0 });
    // A page read after the edit merged with the log held before it (a page load racing an edit).
    let log = mergeMessages(mergeMessages({ items: [], hasOlder: false }, [edited]), [before]);
    assert.equal(log.items[0]!.content, 'edited');
    log = mergeMessages(mergeMessages({ items: [], hasOlder: false }, [before]), [edited]);
    assert.equal(log.items[0]!.content, 'edited');
    const deleted = message(1, { content: '', deletedAt: '2026-12-07T00:00:02.000Z', updatedSeq: 3 });
    assert.equal(mergeMessages(mergeMessages(log, [deleted]), [edited]).items[0]!.deletedAt, deleted.deletedAt);
  });

  test('a streaming snapshot with a higher updatedSeq (a reply restarted on another worker) replaces the longer text', () => {
    let log = mergeMessages({ items: [], hasOlder: false }, [message(1, { status: 'streaming', content: 'first try' })]);
    log = mergeMessages(log, [message(1, { status: 'streaming', content: 'sec', updatedSeq: 4 })]);
    assert.equal(log.items[0]!.content, 'sec');
    log = appendDelta(log, 'm1', 'ond', 3);
    assert.equal(log.items[0]!.content, 'second');
    log = mergeMessages(log, [message(1, { status: 'streaming', content: 'se', updatedSeq: 4 })]);
    assert.equal(log.items[0]!.content, 'second', 'an older snapshot of the same attempt still never shortens it');
  });

  test('places deltas by offset: what the loaded content covers is dropped, a gap waits for the content to catch up', () => {
    assert.deepEqual(applyDeltas('Hello', [{ offset: 3, delta: 'lo, w' }]), { content: 'Hello, w', pending: [] });
    assert.deepEqual(applyDeltas('Hello', [{ offset: 0, delta: 'Hel' }]), { content: 'Hello', pending: [] });
    assert.deepEqual(applyDeltas('Hé', [{ offset: 4, delta: 'x' }]), { content: 'Hé', pending: [{ offset: 4, delta: 'x' }] });
    assert.deepEqual(
      applyDeltas('ab', [
        { offset: 4, delta: 'ef' },
        { offset: 2, delta: 'cd' },
      ]),
      { content: 'abcdef', pending: [] },
      'in offset order, whatever the arrival order',
    );

    // A viewer loaded the reply as saved ("Hel"), then live deltas from further on arrive.
    let log = mergeMessages({ items: [], hasOlder: false }, [message(1, { status: 'streaming', content: 'Hel' })]);
    log = appendDelta(log, 'm1', ', world', 5);
    assert.equal(log.items[0]!.content, 'Hel', 'a gap: not applied');
    assert.ok(hasDeltaGap(log, 'm1'));
    log = appendDelta(log, 'm1', '!', 12);
    // Loading the message again returns what was saved since: the waiting deltas continue it exactly.
    log = mergeMessages(log, [message(1, { status: 'streaming', content: 'Hello, w' })]);
    assert.equal(log.items[0]!.content, 'Hello, world!');
    assert.ok(!hasDeltaGap(log, 'm1'));
    log = appendDelta(log, 'm1', 'ld!', 10);
    assert.equal(log.items[0]!.content, 'Hello, world!', 'a repeated delta adds nothing');
    log = mergeMessages(log, [message(1, { status: 'streaming', content: 'Hello' })]);
    assert.equal(log.items[0]!.content, 'Hello, world!', 'an older snapshot never shortens the text');
    log = appendDelta(log, 'm1', ' Bye', undefined);
    assert.equal(log.items[0]!.content, 'Hello, world! Bye', 'a server without offsets: appended');
  });

  test('the inbox counts unread messages from others, not mine nor the one I am reading', () => {
    const entry = {
      ...{ id: 'c1', workspaceId: 'w', kind: 'group' as const, title: 'T', createdBy: 'u1', createdAt: '' },
      lastSeq: 1,
      lastActivityAt: '2026-01-01T00:00:00.000Z',
      members: [],
      unreadCount: 0,
      lastMessage: null,
    };
    let inbox = applyMessage([entry], message(2), { myId: 'u1', reading: false });
    inbox = applyMessage(inbox, message(2), { myId: 'u1', reading: false });
    assert.equal(inbox[0]!.unreadCount, 1, 'a repeated message counts once');
    inbox = applyMessage(inbox, message(3, { sender: { type: 'user', id: 'u1', handle: 'alice' } }), {
      myId: 'u1',
      reading: false,
    });
    assert.equal(inbox[0]!.unreadCount, 0);
    assert.equal(inbox[0]!.lastMessage!.seq, 3);
  });

  test('@ at a word start opens suggestions, and picking one inserts the handle', () => {
    assert.deepEqual(mentionAt('hi @pl', 6), { query: 'pl', start: 3 });
    assert.equal(mentionAt('mail me at a@b', 14), null);
    const candidates = [
      { id: '1', handle: 'planner', displayName: 'Planner', type: 'agent' as const },
      { id: '2', handle: 'bob', displayName: 'Bob Plant', type: 'user' as const },
    ];
    assert.deepEqual(
      filterMentions(candidates, 'pl').map((candidate) => candidate.handle),
      ['planner', 'bob'],
    );
    assert.deepEqual(insertMention('hi @pl!', 3, 6, 'planner'), { text: 'hi @planner !', caret: 12 });
  });

  test('the outbox sends in order, keeps the rest when the connection drops, and marks refusals', async () => {
    const outbox = new Outbox();
    for (const id of ['a', 'b', 'c']) outbox.add({ conversationId: 'c1', clientMsgId: id, content: id, queuedAt: '' });
    const sent: string[] = [];
    await outbox.flush(
      async (item) => {
        if (item.clientMsgId === 'b') throw new ChorusError('closed', 'dropped');
        sent.push(item.clientMsgId);
        return message(sent.length, { clientMsgId: item.clientMsgId });
      },
      () => undefined,
    );
    assert.deepEqual(sent, ['a']);
    assert.deepEqual(
      outbox.list().map((item) => item.clientMsgId),
      ['b', 'c'],
    );
    await outbox.flush(
      async (item) => {
        if (item.clientMsgId === 'b') throw new ChorusError('payload_too_large', 'too long');
        sent.push(item.clientMsgId);
        return message(sent.length);
      },
      () => undefined,
    );
    assert.deepEqual(sent, ['a', 'c']);
    assert.equal(outbox.list()[0]!.error, 'too long');
  });
});
