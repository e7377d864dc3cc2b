import type { EmbeddingModelV4 } from '@ai-sdk/provider';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database, Executor } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { knowledgeChunkEmbeddings } from './schema.ts';

/** Turns texts into vectors with the configured embedding model (AI SDK `embedMany`). */
export interface Embedder {
  /** `provider/model`, as configured. */
  name: string;
  /** One vector per text, in order. Throws provider_error when the provider fails. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/** An embedder over an AI SDK embedding model; calls are batched by `embedMany` and retried twice by the SDK. */
export function createEmbedder(name: string, model: EmbeddingModelV4): Embedder {
  return {
    name,
    async embed(texts, signal) {
      if (texts.length === 0) return [];
      const { embedMany } = await import('ai');
      try {
        const { embeddings } = await embedMany({ model, values: texts, abortSignal: signal });
        return embeddings;
      } catch (error) {
        throw new AppError('provider_error', `Embedding with ${name} failed: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}

/**
 * Resolves whether pgvector is usable (`create extension if not exists vector` succeeds). Embeddings
 * are stored as `real[]` either way (a migration cannot depend on an extension that may be
 * missing); with pgvector, search casts them to `vector` and ranks by its cosine distance operator,
 * without it by the same cosine computed in plain SQL (an exact scan: fine to tens of thousands of
 * chunks per search). PGlite has it when opened with `pgvector` (src/db/database.ts: when an
 * embedding model is configured); PostgreSQL when the server has it installed.
 */
export async function detectPgvector(database: Database, logger: Logger): Promise<boolean> {
  try {
    await database.db.execute(sql`create extension if not exists vector`);
    return true;
  } catch (error) {
    logger.info({ err: error }, 'pgvector is not installed: embeddings are ranked in plain SQL');
    return false;
  }
}

/** Stores the embeddings of chunks, unit-normalised (so a dot product is the cosine), replacing earlier ones. */
export async function storeEmbeddings(
  db: Executor,
  rows: Array<{ chunkId: string; workspaceId: string; knowledgeBaseId: string; embedding: number[] }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insert(knowledgeChunkEmbeddings)
    .values(rows.map((row) => ({ ...row, embedding: normalize(row.embedding) })))
    .onConflictDoUpdate({ target: knowledgeChunkEmbeddings.chunkId, set: { embedding: sql`excluded.embedding` } });
}

/** The vector scaled to length 1 (a zero vector stays zero); non-finite values count as 0. */
export function normalize(vector: number[]): number[] {
  const clean = vector.map((value) => (Number.isFinite(value) ? value : 0));
  const length = Math.hypot(...clean);
  return length === 0 ? clean : clean.map((value) => value / length);
}
