import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mentions, shouldReply } from '../../src/agents/reply-policy.ts';
import { testDatabases } from '../support/databases.ts';
import { startAgentWorld, type AgentWorld } from './support.ts';

for (const database of testDatabases()) {
  describe(`agents CRUD on ${database.name}`, () => {
    let world: AgentWorld;
    let bob: any;

    before(async () => {
      world = await startAgentWorld({ databaseUrl: await database.createUrl() });
      bob = await world.server.join(world.alice, 'bob');
    });
    after(() => world.close());

    const call = (method: string, path: string, body?: unknown, token = world.alice.accessToken) =>
      world.server.request(method, `/api/v1${path}`, { token, body });

    it('creates, reads, lists, updates and deletes an agent', async () => {
      const created = await call('POST', '/agents', {
        handle: 'Researcher',
        displayName: 'Research bot',
        model: 'openai/gpt-4o-mini',
        temperature: 0.2,
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.handle, 'Researcher');
      assert.equal(created.body.model, 'openai/gpt-4o-mini');
      assert.equal(created.body.ownerId, world.alice.user.id);
      const read = await call('GET', `/agents/${created.body.id}`);
      assert.deepEqual(read.body, created.body);
      const list = await call('GET', '/agents', undefined, bob.accessToken);
      assert.ok(list.body.items.some((agent: any) => agent.id === created.body.id));
      const patched = await call('PATCH', `/agents/${created.body.id}`, { systemPrompt: 'Cite sources.', model: null });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.systemPrompt, 'Cite sources.');
      assert.equal(patched.body.model, null);
      assert.equal(patched.body.temperature, 0.2);
      assert.equal((await call('DELETE', `/agents/${created.body.id}`)).status, 204);
      assert.equal((await call('GET', `/agents/${created.body.id}`)).status, 404);
      assert.equal((await call('POST', '/agents', { handle: 'researcher' })).status, 201, 'the handle is free again');
    });

    it('shares the handle namespace with users', async () => {
      const clash = await call('POST', '/agents', { handle: 'BOB' });
      assert.equal(clash.status, 409);
      assert.equal(clash.body.error.code, 'conflict');
      assert.equal((await call('POST', '/agents', { handle: 'twin' })).status, 201);
      assert.equal((await call('POST', '/agents', { handle: 'Twin' })).status, 409);
      const invite = await world.server.request('POST', '/api/v1/invites', { token: world.alice.accessToken, body: {} });
      const taken = await world.server.request('POST', '/api/v1/auth/register', {
        body: {
          workspace: world.alice.workspace.slug,
          handle: 'twin',
          password: 'correct horse battery',
          inviteCode: invite.body.code,
        },
      });
      assert.equal(taken.status, 409, 'a user cannot take an agent handle either');
    });

    it('accepts only models of configured providers', async () => {
      const unknown = await call('POST', '/agents', { handle: 'gpt', model: 'anthropic/claude-3-5-sonnet' });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /configured: openai/);
      assert.equal((await call('POST', '/agents', { handle: 'gpt2', model: 'nonsense' })).status, 400);
      const slashes = await call('POST', '/agents', { handle: 'llama', model: 'openai/meta-llama/Llama-3-8B' });
      assert.equal(slashes.status, 201, 'split at the first slash');
    });

    it("lets only the owner or an admin change an agent, and hides other workspaces' agents", async () => {
      const mine = await call('POST', '/agents', { handle: 'alices' });
      const denied = await call('PATCH', `/agents/${mine.body.id}`, { displayName: 'hijacked' }, bob.accessToken);
      assert.equal(denied.status, 403);
      assert.equal((await call('DELETE', `/agents/${mine.body.id}`, undefined, bob.accessToken)).status, 403);
      const outsider = await world.server.register(`other-${database.name}`, 'eve');
      assert.equal((await call('GET', `/agents/${mine.body.id}`, undefined, outsider.accessToken)).status, 404);
    });
  });
}

describe('reply policy', () => {
  const agent = { id: 'a1', handle: 'helper' };
  const person = { type: 'user' as const, id: 'u1' };

  it('recognises whole-word mentions only', () => {
    assert.ok(mentions('@helper hi', 'helper'));
    assert.ok(mentions('hi @HELPER, and you?', 'helper'));
    assert.ok(mentions('thanks @helper.', 'helper'));
    assert.ok(!mentions('mail x@helper.io', 'helper'));
    assert.ok(!mentions('@helpers unite', 'helper'));
    assert.ok(!mentions('@helper-bot', 'helper'));
    assert.ok(mentions('ask @re.search now', 're.search'));
  });

  it('answers people in direct conversations, mentions and thread replies in groups, agents only when mentioned', () => {
    assert.ok(shouldReply({ conversationKind: 'direct', message: { sender: person, content: 'hi' }, agent }));
    assert.ok(!shouldReply({ conversationKind: 'group', message: { sender: person, content: 'hi' }, agent }));
    assert.ok(shouldReply({ conversationKind: 'group', message: { sender: person, content: 'hi @helper' }, agent }));
    assert.ok(
      shouldReply({
        conversationKind: 'group',
        message: { sender: person, content: 'more' },
        agent,
        threadRootSender: { type: 'agent', id: 'a1' },
      }),
    );
    assert.ok(
      !shouldReply({
        conversationKind: 'group',
        message: { sender: person, content: 'more' },
        agent,
        threadRootSender: { type: 'agent', id: 'a2' },
      }),
    );
    assert.ok(
      !shouldReply({ conversationKind: 'direct', message: { sender: { type: 'agent', id: 'a2' }, content: 'hi' }, agent }),
    );
    assert.ok(
      shouldReply({ conversationKind: 'group', message: { sender: { type: 'agent', id: 'a2' }, content: '@helper?' }, agent }),
    );
    assert.ok(
      !shouldReply({ conversationKind: 'group', message: { sender: { type: 'agent', id: 'a1' }, content: '@helper' }, agent }),
    );
  });
});
