import { sql } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import type { Executor } from '../db/database.ts';
import { getKnowledgeBase } from './knowledge-bases.ts';
import { normalize, type Embedder } from './embeddings.ts';
import type { RetrievedChunk } from '../wire/knowledge.ts';

/** What retrieval needs: storage, and the embedder when one is configured (else full-text search only). */
export interface SearchDeps {
  db: Executor;
  embedder?: Embedder | undefined;
  /** Rank embeddings with pgvector's `<=>` (else the same cosine in plain SQL). */
  pgvector?: boolean;
}

export type { RetrievedChunk };

/**
 * Retrieval as agent runs use it (the chain's `rag` step): `search` is `searchKnowledge` bound to the
 * app's storage and embedder; `defaultLimit` is `CHORUS_RAG_CHUNKS`, for a step without `limit`.
 */
export interface KnowledgeRetrieval {
  search(input: {
    workspaceId: string;
    knowledgeBaseIds: readonly string[];
    query: string;
    limit: number;
  }): Promise<RetrievedChunk[]>;
  defaultLimit: number;
}

/** RRF's constant, as in Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009. */
const rrfK = 60;
/** Candidates taken from each ranking before fusion, per result wanted. */
const candidatesPerResult = 4;

/**
 * Retrieves the chunks of `knowledgeBaseIds` best matching `query`, in `workspaceId` only (a
 * knowledge base of another workspace contributes nothing, whatever its id). Two rankings: full-text
 * search (English stemming, any query word may match, ranked by ts_rank normalised by length), and
 * when an embedder is configured, cosine similarity of the embeddings (pgvector when installed);
 * they are fused by
 * reciprocal rank fusion, score = Σ 1/(60 + rank). With full-text search alone the score is that
 * ranking's RRF term. Resolves to at most `limit` chunks, best first ([] for no match or no ids).
 * Throws provider_error when embedding the query fails.
 */
export async function searchKnowledge(
  deps: SearchDeps,
  input: { workspaceId: string; knowledgeBaseIds: readonly string[]; query: string; limit: number },
): Promise<RetrievedChunk[]> {
  if (input.knowledgeBaseIds.length === 0 || input.limit <= 0 || input.query.trim() === '') return [];
  const candidates = Math.max(20, input.limit * candidatesPerResult);
  const baseIds = sql`array[${sql.join(
    input.knowledgeBaseIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}]`;
  const rankings: string[][] = [await fullTextRanking(deps.db, input.workspaceId, baseIds, input.query, candidates)];
  if (deps.embedder) {
    const [vector] = await deps.embedder.embed([input.query]);
    if (vector) rankings.push(await vectorRanking(deps, input.workspaceId, baseIds, normalize(vector), candidates));
  }
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((chunkId, index) => scores.set(chunkId, (scores.get(chunkId) ?? 0) + 1 / (rrfK + index + 1)));
  }
  const best = [...scores.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, input.limit);
  if (best.length === 0) return [];
  const rows = rowsOf<{
    id: string;
    document_id: string;
    title: string;
    knowledge_base_id: string;
    position: number;
    text: string;
  }>(
    await deps.db.execute(sql`
      select c.id, c.document_id, d.title, c.knowledge_base_id, c.position, c.text
      from knowledge_chunks c join knowledge_documents d on d.id = c.document_id
      where c.workspace_id = ${input.workspaceId} and c.id in (${sql.join(
        best.map(([id]) => sql`${id}::uuid`),
        sql`, `,
      )})`),
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return best.flatMap(([chunkId, score]) => {
    const row = byId.get(chunkId);
    if (!row) return [];
    return [
      {
        chunkId,
        documentId: row.document_id,
        documentTitle: row.title,
        knowledgeBaseId: row.knowledge_base_id,
        position: Number(row.position),
        text: row.text,
        score,
      },
    ];
  });
}

/** `searchKnowledge` over one knowledge base of the principal's workspace (`POST /knowledge-bases/:id/search`). Throws not_found. */
export async function searchKnowledgeBase(
  deps: SearchDeps,
  principal: Principal,
  knowledgeBaseId: string,
  input: { query: string; limit: number },
): Promise<RetrievedChunk[]> {
  await getKnowledgeBase(deps.db, principal.workspaceId, knowledgeBaseId);
  return searchKnowledge(deps, { workspaceId: principal.workspaceId, knowledgeBaseIds: [knowledgeBaseId], ...input });
}

/** Chunk ids by full-text rank. Query words are OR-ed: a question rarely has all its words in one chunk. */
async function fullTextRanking(
  db: Executor,
  workspaceId: string,
  baseIds: ReturnType<typeof sql>,
  query: string,
  limit: number,
): Promise<string[]> {
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      with q as (
        select nullif(replace(plainto_tsquery('english', ${query})::text, ' & ', ' | '), '')::tsquery as query
      )
      select c.id from knowledge_chunks c cross join q
      where c.workspace_id = ${workspaceId} and c.knowledge_base_id = any(${baseIds})
        and q.query is not null and c.search_tsv @@ q.query
      order by ts_rank(c.search_tsv, q.query, 1) desc, c.id
      limit ${limit}`),
  );
  return rows.map((row) => row.id);
}

/** Chunk ids by cosine similarity of their (unit) embedding to the query's, most similar first. */
async function vectorRanking(
  deps: SearchDeps,
  workspaceId: string,
  baseIds: ReturnType<typeof sql>,
  vector: number[],
  limit: number,
): Promise<string[]> {
  const query = `{${vector.join(',')}}`;
  const distance = deps.pgvector
    ? sql`e.embedding::vector <=> ${query}::real[]::vector`
    : sql`-(select sum(a * b) from unnest(e.embedding, ${query}::real[]) as t(a, b))`;
  const rows = rowsOf<{ chunk_id: string }>(
    await deps.db.execute(sql`
      select e.chunk_id from knowledge_chunk_embeddings e
      where e.workspace_id = ${workspaceId} and e.knowledge_base_id = any(${baseIds})
        and cardinality(e.embedding) = ${vector.length}
      order by ${distance}, e.chunk_id
      limit ${limit}`),
  );
  return rows.map((row) => row.chunk_id);
}

function rowsOf<Row>(result: unknown): Row[] {
  return (result as { rows: Row[] }).rows;
}
