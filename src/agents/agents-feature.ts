import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/context.ts';
import type { KnowledgeFeature } from '../knowledge/knowledge-feature.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import { PartialContentWriter } from '../runs/partial-content-writer.ts';
import { RunService } from '../runs/run-service.ts';
import { RedisRunQueue } from '../runs/run-queue.redis.ts';
import { markAbandonedRunsInterrupted } from '../runs/run-store.ts';
import { startQueuedRunSweep, type QueuedRunSweep } from '../runs/queued-run-sweep.ts';
import type { RunJob } from '../runs/run-agent.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import { AgentRowCache } from './agent-row-cache.ts';
import { createReplyTrigger } from './agent-trigger.ts';

/** The agents feature's long-lived parts, handed to its routes. */
export interface AgentsFeature {
  models: ModelRegistry;
  runs: RunService;
}

/**
 * Wires agents into the app: the model registry from config, the run queue (in-process, or in
 * distributed mode BullMQ jobs with a mailbox lease in Redis, and on consuming nodes the sweep
 * that submits runs left `queued` again), the reply trigger
 * on `messagePosted`, `context.cancelRun`, start-up recovery (one-node modes: messages left
 * `streaming` become `interrupted`) and shutdown (active runs end `interrupted`).
 */
export function createAgentsFeature(
  app: FastifyInstance,
  context: AppContext,
  models: ModelRegistry,
  knowledge: KnowledgeFeature,
): AgentsFeature {
  const redis = context.config.mode === 'distributed' ? context.redis : undefined;
  let sharedQueue: RedisRunQueue<RunJob> | undefined;
  const runs = new RunService(
    {
      ...context,
      models,
      agentsConfig: context.config.agents,
      partialContent: new PartialContentWriter(context.db),
      retrieval: knowledge.retrieval,
    },
    {
      ...(redis
        ? {
            sharedQueue: (execute) =>
              (sharedQueue = new RedisRunQueue({
                redis,
                jobs: context.jobs,
                prefix: context.config.jobs.queuePrefix,
                execute,
                onError: (error) => context.logger.error({ err: error }, 'agent run queue failed'),
              })),
          }
        : {}),
      onRunEnded: (status) => context.metrics.agentRuns.inc({ status }),
    },
  );
  const agentRows = new AgentRowCache(context.bus);
  context.messagePosted.add(createReplyTrigger({ db: context.db, runs, agentRows, logger: context.logger }));
  context.cancelRun = async (principal, runId) => {
    await runs.cancel(principal, runId);
  };
  context.answerApproval = (principal, runId, approvalId, answer) => runs.answerApproval(principal, runId, approvalId, answer);
  if (context.config.mode !== 'distributed') {
    app.addHook('onReady', async () => {
      await runs.expireRequests();
      const recovered = await markAbandonedRunsInterrupted(context.db);
      for (const message of recovered) {
        await context.bus.publish(conversationTopic(message.conversationId), { type: 'message.done', message });
      }
      if (recovered.length > 0)
        context.logger.warn({ count: recovered.length }, 'replies left streaming by a stopped server marked interrupted');
    });
  }
  // Consuming nodes of a cluster submit runs left `queued` too long again (a Redis restart loses the queue).
  let sweep: QueuedRunSweep | undefined;
  const queue = sharedQueue;
  if (queue && context.config.role !== 'api') {
    app.addHook('onReady', async () => {
      sweep = startQueuedRunSweep(context, queue, context.config.jobs.runRequeueAfterMs);
    });
  }
  app.addHook('preClose', async () => {
    await sweep?.stop();
    agentRows.close();
    await runs.stop();
  });
  return { models, runs };
}
