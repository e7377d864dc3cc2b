import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

for (const database of testDatabases()) {
  describe(`search on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let bob: Session;
    let mallory: Session; // another workspace
    let shared: string; // alice + bob
    let bobs: string; // bob alone: alice is not in it
    let ids: Record<string, string>;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      mallory = await server.register('evil', 'mallory');
      const group = async (owner: Session, members: Session[]) =>
        (
          await server.request('POST', '/api/v1/conversations', {
            token: owner.accessToken,
            body: { kind: 'group', title: 't', members: members.map((member) => ({ type: 'user', id: member.user.id })) },
          })
        ).body.id as string;
      shared = await group(alice, [bob]);
      bobs = await group(bob, []);
      const malloryConversation = await group(mallory, []);
      const post = async (session: Session, conversationId: string, content: string) =>
        (
          await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
            token: session.accessToken,
            body: { content },
          })
        ).body.id as string;
      ids = {
        deploy: await post(alice, shared, 'We are deploying the release tonight'),
        deployTwice: await post(bob, shared, 'deploy deploy: the deploy script is ready'),
        other: await post(bob, shared, 'lunch at noon?'),
        secret: await post(bob, bobs, 'deploy secret in a conversation alice is not in'),
        foreign: await post(mallory, malloryConversation, 'deploy from another workspace'),
        deleted: await post(alice, shared, 'deploy this and delete it'),
      };
      await server.request('DELETE', `/api/v1/messages/${ids.deleted}`, { token: alice.accessToken });
    });
    after(() => server.close());

    const search = (session: Session, query: string) =>
      server.request('GET', `/api/v1/search?${query}`, { token: session.accessToken });

    it('finds stemmed words, ranked, with highlights, only in your conversations of your workspace', async () => {
      const response = await search(alice, 'q=deploy');
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(
        response.body.items.map((hit: any) => hit.message.id),
        [ids.deployTwice, ids.deploy],
        'more matches rank higher; other conversations, workspaces and tombstones are never returned',
      );
      // The excerpt is the message's words around the match, not the matched word alone.
      assert.match(response.body.items[1].highlight.map((segment: any) => segment.text).join(''), /deploying/);
      assert.ok(response.body.items[1].highlight.length > 1);
      const highlighted = response.body.items[1].highlight.filter((segment: any) => segment.highlighted);
      assert.deepEqual(
        highlighted.map((segment: any) => segment.text),
        ['deploying'],
      );
      assert.equal(response.body.nextCursor, null);
      assert.equal((await search(mallory, 'q=deploy')).body.items.length, 1);
    });

    it('filters by conversation, sender and date, and pages with a cursor', async () => {
      assert.deepEqual(
        (await search(alice, 'q=deploy&sender=BOB')).body.items.map((hit: any) => hit.message.id),
        [ids.deployTwice],
      );
      const inBobs = await search(alice, `q=deploy&conversationId=${bobs}`);
      assert.equal(inBobs.body.items.length, 0);
      const future = new Date(Date.now() + 60_000).toISOString();
      assert.equal((await search(alice, `q=deploy&after=${encodeURIComponent(future)}`)).body.items.length, 0);
      assert.equal((await search(alice, `q=deploy&before=${encodeURIComponent(future)}`)).body.items.length, 2);
      const first = await search(alice, 'q=deploy&limit=1');
      assert.equal(first.body.items.length, 1);
      assert.ok(first.body.nextCursor);
      const second = await search(alice, `q=deploy&limit=1&cursor=${first.body.nextCursor}`);
      assert.deepEqual(
        second.body.items.map((hit: any) => hit.message.id),
        [ids.deploy],
      );
      assert.equal(second.body.nextCursor, null);
    });

    it('finds an edited message by its new words only, over HTTP', async () => {
      const posted = await server.request('POST', `/api/v1/conversations/${shared}/messages`, {
        token: bob.accessToken,
        body: { content: 'the kangaroo budget' },
      });
      assert.equal((await search(alice, 'q=kangaroo')).body.items.length, 1);
      await server.request('PATCH', `/api/v1/messages/${posted.body.id}`, {
        token: bob.accessToken,
        body: { content: 'the wombat budget' },
      });
      assert.equal((await search(alice, 'q=kangaroo')).body.items.length, 0);
      const found = await search(alice, 'q=wombat');
      assert.deepEqual(
        found.body.items.map((hit: any) => [hit.message.id, hit.message.editedAt !== null]),
        [[posted.body.id, true]],
      );
    });

    it('refuses a missing query and a forged cursor', async () => {
      assert.equal((await search(alice, 'q=')).status, 400);
      const common = await search(alice, 'q=the');
      assert.equal(common.status, 400, 'only a stop word: nothing to look for');
      assert.equal(common.body.error.code, 'invalid_request');
      assert.match(common.body.error.message, /no words to look for/);
      assert.equal((await search(alice, 'q=zebra')).status, 200, 'a real word that matches nothing is an empty page');
      const forged = await search(alice, 'q=deploy&cursor=bm90LWEtY3Vyc29y');
      assert.equal(forged.status, 400);
      assert.equal(forged.body.error.code, 'invalid_request');
    });
  });
}
