import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatStore } from '../../web/src/state/chat-store.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

/** localStorage for Node: the store keeps its tokens, profile and outbox in it. */
class MemoryStorage implements Storage {
  #items = new Map<string, string>();
  get length(): number {
    return this.#items.size;
  }
  clear(): void {
    this.#items.clear();
  }
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
}

/** Resolves when `check(store)` holds, re-checking on every state change. */
function until(store: ChatStore, check: (store: ChatStore) => boolean): Promise<void> {
  if (check(store)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = store.subscribe(() => {
      if (!check(store)) return;
      stop();
      resolve();
    });
  });
}

describe('web client store: catching up changes made while away', () => {
  let server: TestServer;
  let alice: Session;
  let conversationId: string;

  before(async () => {
    server = await startTestServer();
    alice = await server.register('acme', 'alice');
    await server.join(alice, 'bob');
    conversationId = (
      await server.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group', title: 'away', members: [] },
      })
    ).body.id;
  });
  /** Stores opened by a test: signed out after, so a failed test cannot keep reconnecting. */
  const stores: ChatStore[] = [];
  after(async () => {
    for (const store of stores) store.realtime.stop();
    await server?.close();
  });

  it('shows edits, deletes and reactions made while its connection was down, after reconnecting', async () => {
    const post = async (content: string) =>
      (
        await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { content },
        })
      ).body;
    const first = await post('first');
    const second = await post('second');
    const edited = await server.request('PATCH', `/api/v1/messages/${first.id}`, {
      token: alice.accessToken,
      body: { content: 'first, edited before loading' },
    });
    assert.equal(edited.status, 200);

    const store = new ChatStore({ origin: server.url, storage: new MemoryStorage() });
    stores.push(store);
    await store.signIn({ workspace: 'acme', handle: 'alice', password: 'correct horse battery' });
    await until(store, (current) => current.state.connection === 'open');
    await store.openConversation(conversationId);
    const held = (id: string) => store.state.logs[conversationId]?.items.find((item) => item.id === id);
    assert.equal(held(first.id)?.content, 'first, edited before loading');

    store.realtime.stop();
    await until(store, (current) => current.state.connection !== 'open');
    // While away: an edit, a delete and a reaction, none of which this client sees live.
    await server.request('PATCH', `/api/v1/messages/${second.id}`, {
      token: alice.accessToken,
      body: { content: 'second, edited' },
    });
    await server.request('DELETE', `/api/v1/messages/${first.id}`, { token: alice.accessToken });
    const late = await post('late');
    await server.request('PUT', `/api/v1/messages/${late.id}/reactions/${encodeURIComponent('👍')}`, {
      token: alice.accessToken,
    });
    assert.equal(held(second.id)?.content, 'second');

    store.realtime.start();
    await until(
      store,
      () =>
        held(second.id)?.content === 'second, edited' &&
        held(first.id)?.deletedAt != null &&
        held(late.id)?.reactions?.length === 1,
    );
    assert.equal(held(first.id)?.content, '');
    assert.deepEqual(
      store.state.logs[conversationId].items.map((item) => item.seq),
      [first.seq, second.seq, late.seq],
    );
    await store.signOut();
  });

  it('reads a conversation once when it is opened again while its first page loads (a reconnect racing a click)', async () => {
    const edited = (
      await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: 'to edit' },
      })
    ).body;
    const store = new ChatStore({ origin: server.url, storage: new MemoryStorage() });
    stores.push(store);
    await store.signIn({ workspace: 'acme', handle: 'alice', password: 'correct horse battery' });
    await until(store, (current) => current.state.connection === 'open');
    const listMessages = store.api.listMessages.bind(store.api);
    let reads = 0;
    const release = Promise.withResolvers<void>();
    store.api.listMessages = async (...args) => {
      reads++;
      await release.promise;
      return listMessages(...args);
    };
    const first = store.openConversation(conversationId);
    const second = store.openConversation(conversationId);
    // An edit lands while the page is on its way: whichever copy arrives, the log keeps the edit.
    await server.request('PATCH', `/api/v1/messages/${edited.id}`, { token: alice.accessToken, body: { content: 'edited' } });
    release.resolve();
    await Promise.all([first, second]);
    assert.equal(reads, 1);
    await until(store, (current) => current.state.logs[conversationId]?.items.some((item) => item.content === 'edited') === true);
    await store.signOut();
  });
});
