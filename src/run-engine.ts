import type { FastifyInstance } from 'fastify';
import { createAgentsFeature, type AgentsFeature } from './agents/agents-feature.ts';
import { createBindingsFeature, type BindingsFeature } from './bindings/bindings-feature.ts';
import type { AppContext } from './http/context.ts';
import { createKnowledgeFeature, type KnowledgeFeature } from './knowledge/knowledge-feature.ts';
import { createMcpFeature, type McpFeature } from './mcp/mcp-feature.ts';
import { createModelRegistry } from './providers/model-registry.ts';
import { startScheduler } from './schedules/scheduler.ts';

/** The features that execute work, without any route: what both sides of a node share. */
export interface RunEngine {
  mcp: McpFeature;
  knowledge: KnowledgeFeature;
  agents: AgentsFeature;
  bindings: BindingsFeature;
}

/**
 * Composes the run engine of a node (every role): MCP servers and tools, the model registry,
 * knowledge (its ingestion job kind and retrieval), agent runs (their queue, executor, the reply
 * trigger and `runs:control` listener), schedules (the ticker and `schedule.fire` kind) and
 * bindings. Job kinds register here on every node; whether this node consumes them is the job
 * queue's `consume` (false on `--role api`). Routes and transports are the API side's (app.ts).
 * Sets `context.mcp`, `knowledge`, `scheduler`, `bindings`, `cancelRun` and `answerApproval`.
 */
export function createRunEngine(app: FastifyInstance, context: AppContext): RunEngine {
  const mcp = createMcpFeature(context);
  context.mcp = mcp;
  context.onClose.push(() => mcp.close());
  const models = createModelRegistry(context.config);
  const knowledge = createKnowledgeFeature(app, context, models);
  context.knowledge = knowledge;
  const agents = createAgentsFeature(app, context, models, knowledge);
  context.scheduler = startScheduler(app, context, agents.runs);
  const bindings = createBindingsFeature(app, context, agents.runs);
  context.bindings = bindings;
  return { mcp, knowledge, agents, bindings };
}
