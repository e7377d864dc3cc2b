import type { CitationPart } from '../../messages/message-shape.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';

const defaultLimit = 5;

/**
 * `rag`: retrieves the chunks of the agent's knowledge bases closest to the message being
 * answered; they go into later model calls' context and become `citation` parts of the reply.
 * Records "no knowledge bases" when the agent has none, and that retrieval is not installed when
 * the server has no search (src/chain/knowledge-search.ts is the seam).
 */
export const rag: StepHandler<Extract<ChainStep, { type: 'rag' }>> = async (run, step, record) => {
  const knowledgeBaseIds = run.agent.knowledgeBaseIds;
  if (knowledgeBaseIds.length === 0) {
    record.output = { skipped: 'no knowledge bases' };
    return {};
  }
  const search = run.deps.searchKnowledge;
  if (!search) {
    record.output = { skipped: 'knowledge retrieval is not installed on this server' };
    return {};
  }
  await run.checkpoint();
  const limit = step.limit ?? defaultLimit;
  record.input = { knowledgeBaseIds, query: run.trigger.content, limit };
  const chunks = await search({ workspaceId: run.workspaceId, knowledgeBaseIds, query: run.trigger.content, limit });
  run.state.chunks.push(...chunks);
  for (const chunk of chunks) {
    const citation: CitationPart = {
      type: 'citation',
      documentId: chunk.documentId,
      documentTitle: chunk.documentTitle,
      chunkId: chunk.chunkId,
      knowledgeBaseId: chunk.knowledgeBaseId,
      position: chunk.position,
      score: chunk.score,
    };
    run.reply.putPart(run.reply.parts.length, citation);
  }
  record.output = {
    chunks: chunks.map((chunk) => ({ chunkId: chunk.chunkId, documentId: chunk.documentId, score: chunk.score })),
  };
  return {};
};
