import type { Redis } from 'ioredis';
import type { AttachmentStorage } from '../attachments/attachment-storage.ts';
import type { Logger } from 'pino';
import type { AuthDeps, Principal } from '../auth/auth-service.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import type { Config } from '../config/config.ts';
import type { Database, Db } from '../db/database.ts';
import type { MessageDeps } from '../messages/messages.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { EventBus } from '../bus/event-bus.ts';
import type { McpFeature } from '../mcp/mcp-feature.ts';
import type { BindingsFeature } from '../bindings/bindings-feature.ts';
import type { RateLimits } from './rate-limit.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { KnowledgeFeature } from '../knowledge/knowledge-feature.ts';
import type { Scheduler } from '../schedules/scheduler.ts';

/** Everything a transport adapter may call into, built once by `createApp`. */
export interface AppContext extends AuthDeps, MessageDeps {
  config: Config;
  database: Database;
  db: Db;
  bus: EventBus;
  logger: Logger;
  signer: TokenSigner;
  /** Present in distributed mode. */
  redis?: Redis;
  metrics: Metrics;
  rateLimits: RateLimits;
  /** Where attachment bytes live: the data dir, or S3 when configured. */
  attachmentStorage: AttachmentStorage;
  /**
   * Cancels an agent run the principal may see (WebSocket `cancel` and POST /runs/:id/cancel).
   * Throws not_found. Replaced by the agents feature when it is wired in.
   */
  cancelRun(principal: Principal, runId: string): Promise<void>;
  /**
   * Answers an approval request of a paused run (WebSocket `approve` and POST /runs/:id/approvals/:approvalId)
   * and returns the run. Throws not_found, forbidden, conflict. Replaced by the agents feature.
   */
  answerApproval(
    principal: Principal,
    runId: string,
    approvalId: string,
    answer: { decision: 'approve' | 'deny'; argsHash?: string },
  ): Promise<unknown>;
  /** Background jobs (in-process, or BullMQ in distributed mode). */
  jobs: JobQueue;
  /** Knowledge bases: ingestion and retrieval (set by createApp). */
  knowledge?: KnowledgeFeature;
  /** Scheduled agent runs (set by createApp): `tick()` claims and queues what is due. */
  scheduler?: Scheduler;
  /** MCP servers and agent tools (src/mcp/mcp-feature.ts: resolveAgentTools, validateToolRefs). */
  mcp?: McpFeature;
  /** Bindings (src/bindings/bindings-feature.ts): its trigger, for shutdown and tests. */
  bindings?: BindingsFeature;
  /** Run at shutdown, in reverse order of registration (features add their own). */
  onClose: Array<() => Promise<void> | void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every protected route. */
    principal: Principal;
  }
}
