import assert from 'node:assert/strict';
import pg from 'pg';
import { applyDeltas, type PositionedDelta } from '../../web/src/client/stream-text.ts';
import { testDatabases } from '../support/databases.ts';
import { call, type NodeProcess } from '../support/cluster.ts';
import type { FakeProvider, ScriptStep } from '../support/fake-providers.ts';
import type { TestClient } from '../realtime/client.ts';

/**
 * What the cluster tests of agent runs share: the services they need, a cluster's env, a
 * workspace to talk in, scripted stories and how a client assembles a streamed reply.
 */

const redisUrl = process.env.TEST_REDIS_URL;
const postgres = testDatabases().find((database) => database.name === 'postgres');
export const skip =
  !redisUrl || !postgres ? 'needs TEST_REDIS_URL and TEST_DATABASE_URL (scripts/test-services.sh start)' : false;

/** Agent runs a node executed, by final status (its `chorus_agent_runs_total` counter). */
export async function runsExecuted(node: NodeProcess): Promise<Record<string, number>> {
  const text = (await call(node.url, 'GET', '/metrics')).body as string;
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^chorus_agent_runs_total\{status="(\w+)"\} (\d+)/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** The id of the run answering `triggerMessageId`, read from the database (no API lists a message's runs). */
export async function runOf(databaseUrl: string, triggerMessageId: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('select id from runs where trigger_message_id = $1', [triggerMessageId]);
    return rows[0]?.id;
  } finally {
    await client.end();
  }
}

/** Env for nodes of one cluster over a fresh database, using `provider` as the `openai/…` models. */
export async function clusterEnv(provider: FakeProvider): Promise<Record<string, string>> {
  return {
    DATABASE_URL: (await postgres!.createUrl())!,
    REDIS_URL: redisUrl!,
    CHORUS_JWT_SECRET: 'worker-runs-secret-worker-runs-secret-0123',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: provider.url,
    CHORUS_DEFAULT_MODEL: 'openai/fake-model',
    CHORUS_MODEL_RETRY_BASE_DELAY_MS: '10',
    CHORUS_PARTIAL_SAVE_INTERVAL_MS: '150',
    CHORUS_DELTA_COALESCE_MS: '10',
  };
}

/** Registers alice (and bob, invited), creates the agent and a group of the three; returns tokens and ids. */
export async function setUp(node: NodeProcess, workspace: string) {
  const register = async (handle: string, inviteCode?: string) => {
    const response = await call(node.url, 'POST', '/api/v1/auth/register', {
      body: { workspace, handle, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}) },
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body as { accessToken: string; user: { id: string } };
  };
  const alice = await register('alice');
  const code = (await call(node.url, 'POST', '/api/v1/invites', { token: alice.accessToken, body: {} })).body.code as string;
  const bob = await register('bob', code);
  const agent = await call(node.url, 'POST', '/api/v1/agents', {
    token: alice.accessToken,
    body: { handle: 'narrator', name: 'Narrator', systemPrompt: 'Tell stories.' },
  });
  assert.equal(agent.status, 201, JSON.stringify(agent.body));
  const conversation = await call(node.url, 'POST', '/api/v1/conversations', {
    token: alice.accessToken,
    body: {
      kind: 'group',
      members: [
        { type: 'user', id: bob.user.id },
        { type: 'agent', id: agent.body.id },
      ],
    },
  });
  assert.equal(conversation.status, 201, JSON.stringify(conversation.body));
  return { alice, bob, agentId: agent.body.id as string, conversationId: conversation.body.id as string };
}

/** `count` chunks of text, with a gate before chunk `gateAt` when given. */
export function story(prefix: string, count: number, gate?: { at: number; promise: Promise<void> }) {
  const chunk = (index: number) => `${prefix}${index}é `;
  const steps: ScriptStep[] = [];
  for (let index = 0; index < count; index++) {
    if (gate && index === gate.at) steps.push({ gate: gate.promise });
    steps.push({ text: chunk(index) }, { delayMs: 3 });
  }
  return { steps, text: Array.from({ length: count }, (_, index) => chunk(index)).join('') };
}

/** The streamed text of `messageId` as a client assembles it: from `content`, deltas placed by offset; a `message.updated` replaces it. */
export function assembled(client: TestClient, messageId: string, content = ''): string {
  let text = content;
  let pending: PositionedDelta[] = [];
  for (const frame of client.frames) {
    if (frame.type === 'message.updated' && frame.message.id === messageId) {
      text = frame.message.content;
      pending = [];
    } else if (frame.type === 'message.delta' && frame.messageId === messageId && frame.part === undefined) {
      ({ content: text, pending } = applyDeltas(text, [...pending, { offset: frame.offset, delta: frame.delta }]));
    }
  }
  assert.deepEqual(pending, [], 'no delta left unplaced');
  return text;
}
