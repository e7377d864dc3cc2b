import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../http/context.ts';
import type { RunService } from '../runs/run-service.ts';
import { adviceOutputKind, restoreAdviceOutput, type AdviceDeps } from './advice-reply.ts';
import { markAbandonedAdviceInterrupted, publishAdvice } from './advice.ts';
import { BindingCache } from './binding-cache.ts';
import { BindingTrigger } from './binding-trigger.ts';

/** The bindings feature's long-lived parts, handed to its routes. */
export interface BindingsFeature {
  runs: RunService;
  trigger: BindingTrigger;
}

/**
 * Wires bindings into the app: the `advice` run output (registered with the RunService, so any
 * node rebuilds an advice run from its row), the trigger on `messagePosted`, start-up recovery
 * (one-node modes: advice left `streaming` becomes `interrupted`, announced to its owner) and
 * shutdown (delayed replies waiting on this node are dropped).
 */
export function createBindingsFeature(app: FastifyInstance, context: AppContext, runs: RunService): BindingsFeature {
  const cache = new BindingCache(context.db, context.bus);
  const advice: AdviceDeps = { db: context.db, bus: context.bus, logger: context.logger, agentsConfig: context.config.agents };
  runs.registerOutput(adviceOutputKind, restoreAdviceOutput(advice));
  const trigger = new BindingTrigger({ db: context.db, bus: context.bus, runs, cache, logger: context.logger });
  context.messagePosted.add(trigger.listener);
  if (context.config.mode !== 'distributed') {
    app.addHook('onReady', async () => {
      for (const item of await markAbandonedAdviceInterrupted(context.db)) await publishAdvice(context.bus, 'advice.done', item);
    });
  }
  app.addHook('preClose', async () => {
    trigger.close();
    cache.close();
  });
  return { runs, trigger };
}
