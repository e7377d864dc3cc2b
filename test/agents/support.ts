import assert from 'node:assert/strict';
import { startFakeAnthropic, startFakeOpenAI, type FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { conversationTopic, type BusEvent } from '../../src/bus/event-bus.ts';

/** A Chorus server wired to a fake provider, with one user and helpers for agent scenarios. */
export interface AgentWorld {
  server: TestServer;
  provider: FakeProvider;
  alice: Session;
  /** Creates an agent and returns its body. */
  createAgent(body: Record<string, unknown>, session?: Session): Promise<any>;
  /** Creates a conversation and returns its id. */
  createConversation(
    kind: 'direct' | 'group',
    members: Array<{ type: 'user' | 'agent'; id: string }>,
    session?: Session,
  ): Promise<string>;
  send(conversationId: string, content: string, session?: Session, extra?: Record<string, unknown>): Promise<any>;
  /** Records every bus event of a conversation from now on. */
  watch(conversationId: string): EventLog;
  close(): Promise<void>;
}

/** Bus events of one conversation, in order, with a way to wait for one. */
export class EventLog {
  readonly events: BusEvent[] = [];
  /** `performance.now()` when each event of `events` arrived. */
  readonly receivedAt: number[] = [];
  #waiters: Array<{ predicate: (event: BusEvent) => boolean; resolve: (event: BusEvent) => void }> = [];
  readonly stop: () => void;

  constructor(server: TestServer, conversationId: string) {
    this.stop = server.context.bus.subscribe(conversationTopic(conversationId), (event) => {
      this.events.push(event);
      this.receivedAt.push(performance.now());
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.predicate(event)) return true;
        waiter.resolve(event);
        return false;
      });
    });
  }

  /** Resolves with the first event (already seen or future) matching `predicate`. */
  waitFor(predicate: (event: BusEvent) => boolean): Promise<BusEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ predicate, resolve }));
  }

  /** The `message.done` of the agent reply to run `runId`, or of the `nth` done overall. */
  done(nth = 1): Promise<any> {
    let count = 0;
    return this.waitFor((event) => event.type === 'message.done' && ++count === nth).then((event) => event.message);
  }

  of(type: string): any[] {
    return this.events.filter((event) => event.type === type);
  }
}

/** Starts a fake provider of `wire` format and a server configured to use it as `test/…` models. */
export async function startAgentWorld(
  options: {
    wire?: 'openai' | 'anthropic';
    env?: Record<string, string>;
    databaseUrl?: string;
    dataDir?: string;
    /** Keep the data directory when the server closes (to start another server on it). */
    keepDataDir?: boolean;
  } = {},
): Promise<AgentWorld> {
  const wire = options.wire ?? 'openai';
  const provider = wire === 'openai' ? await startFakeOpenAI() : await startFakeAnthropic();
  const providerEnv: Record<string, string> =
    wire === 'openai'
      ? { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: provider.url, CHORUS_DEFAULT_MODEL: 'openai/fake-model' }
      : { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: provider.url, CHORUS_DEFAULT_MODEL: 'anthropic/fake-claude' };
  const server = await startTestServer({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    keepDataDir: options.keepDataDir,
    env: {
      ...providerEnv,
      CHORUS_MODEL_RETRY_BASE_DELAY_MS: '10',
      CHORUS_MODEL_FIRST_TOKEN_TIMEOUT_MS: '5000',
      CHORUS_MODEL_IDLE_TIMEOUT_MS: '5000',
      ...options.env,
    },
  }).catch(async (error: unknown) => {
    await provider.close();
    throw error;
  });
  const alice = await server.register(`ws-${Math.random().toString(36).slice(2, 8)}`, 'alice');
  const world: AgentWorld = {
    server,
    provider,
    alice,
    async createAgent(body, session = alice) {
      const response = await server.request('POST', '/api/v1/agents', { token: session.accessToken, body });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    },
    async createConversation(kind, members, session = alice) {
      const response = await server.request('POST', '/api/v1/conversations', {
        token: session.accessToken,
        body: { kind, members },
      });
      assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
      return response.body.id;
    },
    async send(conversationId, content, session = alice, extra = {}) {
      const response = await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: session.accessToken,
        body: { content, ...extra },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    },
    watch: (conversationId) => new EventLog(server, conversationId),
    async close() {
      await server.close();
      await provider.close();
    },
  };
  return world;
}
