import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { testDatabases } from '../support/databases.ts';
import { createKnowledgeBase, documentSettled, uploadDocument } from './support.ts';

for (const database of testDatabases()) {
  describe(`agents answer from their knowledge bases on ${database.name}`, () => {
    let world: AgentWorld;
    let baseId: string;
    let otherBaseId: string;
    let refundDocumentId: string;

    before(async () => {
      world = await startAgentWorld({ databaseUrl: await database.createUrl() });
      const { server, alice } = world;
      baseId = await createKnowledgeBase(server, alice, 'Support');
      otherBaseId = await createKnowledgeBase(server, alice, 'Unrelated');
      const client = await TestClient.connect(server, alice.accessToken);
      const files = [
        { base: baseId, name: 'refunds.md', text: '# Refunds\n\nRefunds are paid within 14 days to the original card.' },
        { base: baseId, name: 'shipping.md', text: '# Shipping\n\nParcels ship from Lyon every weekday.' },
        { base: otherBaseId, name: 'refund-rumours.md', text: '# Rumours\n\nSomeone said refunds take a year.' },
      ];
      for (const file of files) {
        const created = await uploadDocument(server, alice, file.base, {
          bytes: file.text,
          name: file.name,
          type: 'text/markdown',
        });
        if (file.name === 'refunds.md') refundDocumentId = created.body.id;
        assert.equal((await documentSettled(client, created.body.id)).document.status, 'ready');
      }
      await client.close();
    });
    after(() => world.close());

    it('puts the matching chunk in the prompt and cites it in the reply parts', async () => {
      const agent = await world.createAgent({
        handle: 'helpdesk',
        systemPrompt: 'You answer customers.',
        knowledgeBaseIds: [baseId],
      });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      const log = world.watch(conversationId);
      world.provider.enqueue({ steps: [{ text: 'Within 14 days [1].' }] });
      await world.send(conversationId, 'How long do refunds take?');
      const reply = await log.done();
      assert.equal(reply.status, 'complete');
      const request = world.provider.requests.at(-1)!;
      const system = request.body.messages.find((message: { role: string }) => message.role === 'system').content as string;
      assert.match(system, /^You answer customers\./);
      assert.match(system, /\[1\] refunds\.md \(part 1\)\nRefunds are paid within 14 days/);
      assert.doesNotMatch(system, /a year/, 'a knowledge base the agent does not list is not searched');
      const [citation] = reply.parts;
      assert.deepEqual(
        { ...citation, chunkId: typeof citation.chunkId },
        {
          type: 'citation',
          index: 1,
          documentId: refundDocumentId,
          chunkId: 'string',
          documentTitle: 'refunds.md',
          knowledgeBaseId: baseId,
          position: 0,
          excerpt: 'Refunds are paid within 14 days to the original card.',
        },
      );
      const stored = await world.server.request('GET', `/api/v1/conversations/${conversationId}/messages`, {
        token: world.alice.accessToken,
      });
      assert.deepEqual(stored.body.items.at(-1).parts, reply.parts, 'the citations are stored with the message');
      const run = await world.server.request('GET', `/api/v1/runs/${reply.runId}`, { token: world.alice.accessToken });
      const ragStep = run.body.steps.find((step: { type: string }) => step.type === 'rag');
      assert.ok(ragStep.output.chunks.length >= 1);
    });

    it('adds no knowledge block and no citations when nothing matches or the agent lists no knowledge base', async () => {
      const plain = await world.createAgent({ handle: 'plain', systemPrompt: 'Be brief.' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: plain.id }]);
      const log = world.watch(conversationId);
      await world.send(conversationId, 'How long do refunds take?');
      const reply = await log.done();
      assert.deepEqual(reply.parts, []);
      const system = world.provider.requests.at(-1)!.body.messages.find((message: { role: string }) => message.role === 'system');
      assert.equal(system.content, 'Be brief.');
    });

    it("never puts another workspace's chunks in a context or a citation, even with its ids in the agent row", async () => {
      const mallory = await world.server.register('globex', 'mallory');
      const spy = await world.createAgent({ handle: 'spy', systemPrompt: 'Answer.' }, mallory);
      // Bypass the API's check, as a corrupted row or a future bug would.
      await world.server.context.db.execute(
        `update agents set knowledge_base_ids = '["${baseId}"]'::jsonb where id = '${spy.id}'` as never,
      );
      const { announceAgentChange } = await import('../../src/agents/agent-row-cache.ts');
      await announceAgentChange(world.server.context.bus, spy.id);
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: spy.id }], mallory);
      const log = world.watch(conversationId);
      await world.send(conversationId, 'How long do refunds take?', mallory);
      const reply = await log.done();
      assert.deepEqual(reply.parts, []);
      const system = world.provider.requests.at(-1)!.body.messages.find((message: { role: string }) => message.role === 'system');
      assert.equal(system.content, 'Answer.');
    });
  });
}
