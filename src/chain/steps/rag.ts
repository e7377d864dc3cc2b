import { citationOf } from '../../knowledge/rag-context.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';

/**
 * `rag`: retrieves the chunks of the agent's knowledge bases closest to the message being answered
 * (`searchKnowledge`, the run's workspace only); they go into later model calls' context, numbered
 * `[n]` after any chunks earlier steps found, and each becomes a `citation` part of the reply.
 * `limit` defaults to `CHORUS_RAG_CHUNKS`. Records "no knowledge bases" when the agent has none.
 * Retrieval that fails (an embedding provider down) is recorded on the step and logged; the run
 * goes on without knowledge.
 */
export const rag: StepHandler<Extract<ChainStep, { type: 'rag' }>> = async (run, step, record) => {
  const knowledgeBaseIds = run.agent.knowledgeBaseIds;
  if (knowledgeBaseIds.length === 0) {
    record.output = { skipped: 'no knowledge bases' };
    return {};
  }
  const limit = step.limit ?? run.deps.retrieval.defaultLimit;
  record.input = { knowledgeBaseIds, query: run.trigger.content, limit };
  if (limit === 0) {
    record.output = { chunks: [] };
    return {};
  }
  await run.checkpoint();
  let chunks;
  try {
    chunks = await run.deps.retrieval.search({
      workspaceId: run.workspaceId,
      knowledgeBaseIds,
      query: run.trigger.content,
      limit,
    });
  } catch (error) {
    run.deps.logger.warn({ err: error, runId: run.runId }, 'knowledge retrieval failed; replying without it');
    record.error = `Knowledge retrieval failed: ${error instanceof Error ? error.message : String(error)}`;
    return {};
  }
  for (const chunk of chunks) {
    run.state.chunks.push(chunk);
    run.reply.putPart(run.reply.parts.length, citationOf(chunk, run.state.chunks.length));
  }
  record.output = {
    chunks: chunks.map((chunk) => ({ chunkId: chunk.chunkId, documentId: chunk.documentId, score: chunk.score })),
  };
  return {};
};
