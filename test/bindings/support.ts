import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { runs } from '../../src/db/schema.ts';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import type { Session } from '../support/server.ts';

/** An agent world with three people in one workspace (alice is its owner) and an assistant agent. */
export interface BindingWorld extends AgentWorld {
  bob: Session;
  carol: Session;
  assistant: { id: string; handle: string };
  /** POST a binding as `session`; returns the response. */
  bind(session: Session, conversationId: string, body: Record<string, unknown>): Promise<{ status: number; body: any }>;
  /** Resolves once every message posted so far has been decided on by the bindings. */
  settled(): Promise<void>;
  /** The runs of a conversation (bindings' and agents'). */
  runsOf(conversationId: string): Promise<Array<typeof runs.$inferSelect>>;
}

export async function startBindingWorld(
  databaseUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<BindingWorld> {
  const world = await startAgentWorld({ databaseUrl, env });
  const bob = await world.server.join(world.alice, 'bob');
  const carol = await world.server.join(world.alice, 'carol');
  const assistant = await world.createAgent({ handle: 'helper', systemPrompt: 'You are a helpful assistant.' });
  return {
    ...world,
    bob,
    carol,
    assistant,
    async bind(session, conversationId, body) {
      return world.server.request('POST', `/api/v1/conversations/${conversationId}/bindings`, {
        token: session.accessToken,
        body: { agentId: assistant.id, ...body },
      });
    },
    async settled() {
      const bindings = world.server.context.bindings;
      assert.ok(bindings);
      await bindings.trigger.whenIdle();
    },
    async runsOf(conversationId) {
      return world.server.context.db.select().from(runs).where(eq(runs.conversationId, conversationId));
    },
  };
}
