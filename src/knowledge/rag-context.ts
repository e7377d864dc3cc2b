import { searchKnowledge, type RetrievedChunk, type SearchDeps } from './search-knowledge.ts';

/**
 * A message part citing a knowledge chunk (SPEC §3 `parts`; beside `attachment` parts, one parts
 * model). `index` is the `[n]` the reply uses; `excerpt` is the chunk's start, for showing the source.
 */
export interface CitationPart {
  type: 'citation';
  index: number;
  documentId: string;
  chunkId: string;
  documentTitle: string;
  knowledgeBaseId: string;
  position: number;
  excerpt: string;
}

/** What a reply's context gains from its agent's knowledge bases. */
export interface KnowledgeContext {
  /** The block appended to the system prompt; undefined when nothing was retrieved. */
  system: string | undefined;
  citations: CitationPart[];
}

const excerptChars = 280;

/**
 * Retrieves the top `limit` chunks of the agent's knowledge bases for `query` (the trigger message)
 * in `workspaceId` only, and renders them as a numbered system-context block with one citation
 * part per chunk. No knowledge bases or no match: no block, no citations. Throws what
 * `searchKnowledge` throws (provider_error when the query cannot be embedded).
 */
export async function retrieveKnowledgeContext(
  deps: SearchDeps,
  input: { workspaceId: string; knowledgeBaseIds: readonly string[]; query: string; limit: number },
): Promise<KnowledgeContext> {
  const chunks = await searchKnowledge(deps, input);
  if (chunks.length === 0) return { system: undefined, citations: [] };
  return { system: renderBlock(chunks), citations: chunks.map(toCitation) };
}

function renderBlock(chunks: RetrievedChunk[]): string {
  const sources = chunks.map(
    (chunk, index) => `[${index + 1}] ${chunk.documentTitle} (part ${chunk.position + 1})\n${chunk.text}`,
  );
  return [
    'Excerpts from the knowledge base follow. Use them when they answer the question, cite them by their number like [1], and say so when they do not cover it.',
    ...sources,
  ].join('\n\n');
}

function toCitation(chunk: RetrievedChunk, index: number): CitationPart {
  return {
    type: 'citation',
    index: index + 1,
    documentId: chunk.documentId,
    chunkId: chunk.chunkId,
    documentTitle: chunk.documentTitle,
    knowledgeBaseId: chunk.knowledgeBaseId,
    position: chunk.position,
    excerpt: chunk.text.length > excerptChars ? `${chunk.text.slice(0, excerptChars)}…` : chunk.text,
  };
}
