/**
 * The retrieval seam agreed with documents (issue 15): `searchKnowledge(deps, {workspaceId,
 * knowledgeBaseIds, query, limit})` in src/knowledge/. Until that module is on main the app passes
 * no search function and the `rag` step records that retrieval is not installed; wiring it is one
 * line in src/agents/agents-feature.ts (`searchKnowledge: (query) => searchKnowledge(deps, query)`).
 */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  documentTitle: string;
  knowledgeBaseId: string;
  position: number;
  text: string;
  /** Higher is more relevant. */
  score: number;
}

/** Searches the given knowledge bases of a workspace; best chunks first, at most `limit`. */
export type KnowledgeSearch = (query: {
  workspaceId: string;
  knowledgeBaseIds: string[];
  query: string;
  limit: number;
}) => Promise<RetrievedChunk[]>;
