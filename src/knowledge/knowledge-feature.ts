import type { FastifyInstance } from 'fastify';
import { inArray } from 'drizzle-orm';
import { createAttachmentStorage } from '../attachments/attachment-storage.ts';
import type { AppContext } from '../http/context.ts';
import { createGuardedFetch } from '../net/guarded-fetch.ts';
import { createOutboundPolicy } from '../net/url-policy.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import { queueIngestion, type KnowledgeDeps } from './documents.ts';
import { createEmbedder, detectPgvector } from './embeddings.ts';
import { ingestionJob } from './ingest-document.ts';
import { knowledgeDocuments } from './schema.ts';
import { searchKnowledge, type KnowledgeRetrieval, type SearchDeps } from './search-knowledge.ts';

/** The knowledge feature's long-lived parts: what its routes and agent runs use. */
export interface KnowledgeFeature {
  deps: KnowledgeDeps;
  /** For `searchKnowledge` (agent runs, the search route). */
  search: SearchDeps;
  /** `searchKnowledge` over `search`, for the agents' `rag` step. */
  retrieval: KnowledgeRetrieval;
}

/**
 * Wires knowledge bases into the app: the ingestion job kind, the embedder when an embedding model
 * is configured (else full-text search only), and once the app is ready, pgvector when installed,
 * and — in one-node modes,
 * whose in-process queue forgot its jobs when the process stopped — re-queues documents left
 * `queued` or `processing`. In distributed mode BullMQ kept them.
 */
export function createKnowledgeFeature(app: FastifyInstance, context: AppContext, models: ModelRegistry): KnowledgeFeature {
  const outboundPolicy = createOutboundPolicy(context.config.outbound.allowHosts);
  const deps: KnowledgeDeps = {
    db: context.db,
    bus: context.bus,
    jobs: context.jobs,
    storage: createAttachmentStorage(context.config),
    config: context.config,
    outboundPolicy,
    fetch: createGuardedFetch(outboundPolicy),
    embedder: undefined,
    logger: context.logger,
  };
  const modelName = context.config.knowledge.embeddingModel;
  const embedder = modelName ? createEmbedder(modelName, models.resolveEmbedding(modelName)) : undefined;
  deps.embedder = embedder;
  const search: SearchDeps = { db: context.db, embedder, pgvector: false };
  context.jobs.register(ingestionJob(deps, context.config.jobs.retryBaseDelayMs));
  app.addHook('onReady', async () => {
    if (embedder) search.pgvector = await detectPgvector(context.database, context.logger);
    if (context.config.mode === 'distributed') return;
    const pending = await context.db
      .select({ id: knowledgeDocuments.id, workspaceId: knowledgeDocuments.workspaceId })
      .from(knowledgeDocuments)
      .where(inArray(knowledgeDocuments.status, ['queued', 'processing']));
    for (const row of pending) await queueIngestion(deps, row);
    if (pending.length > 0) context.logger.info({ count: pending.length }, 'documents left unfinished re-queued for ingestion');
  });
  const retrieval: KnowledgeRetrieval = {
    search: (input) => searchKnowledge(search, input),
    defaultLimit: context.config.knowledge.ragChunks,
  };
  return { deps, search, retrieval };
}
