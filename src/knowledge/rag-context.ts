import type { CitationPart } from '../messages/message-shape.ts';
import type { RetrievedChunk } from './search-knowledge.ts';

const excerptChars = 280;

/**
 * Renders retrieved chunks as the system-context block a model call gets (the chain's `rag` step
 * fills them): an instruction to cite, then `[n] title (part p)` and the chunk's text, numbered from 1
 * in the order given. Callers pass at least one chunk.
 */
export function renderKnowledgeBlock(chunks: readonly RetrievedChunk[]): string {
  const sources = chunks.map(
    (chunk, index) => `[${index + 1}] ${chunk.documentTitle} (part ${chunk.position + 1})\n${chunk.text}`,
  );
  return [
    'Excerpts from the knowledge base follow. Use them when they answer the question, cite them by their number like [1], and say so when they do not cover it.',
    ...sources,
  ].join('\n\n');
}

/** The citation part of a chunk shown as `[index]` (1-based) in the context; `excerpt` is its first 280 characters. */
export function citationOf(chunk: RetrievedChunk, index: number): CitationPart {
  return {
    type: 'citation',
    index,
    documentId: chunk.documentId,
    chunkId: chunk.chunkId,
    documentTitle: chunk.documentTitle,
    knowledgeBaseId: chunk.knowledgeBaseId,
    position: chunk.position,
    excerpt: chunk.text.length > excerptChars ? `${chunk.text.slice(0, excerptChars)}…` : chunk.text,
  };
}
