/**
 * The public shapes of knowledge bases and their documents (docs/api.md), shared by the server and
 * the web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 * Times are ISO 8601 strings.
 */

/** A knowledge base as the API shows it. */
export interface PublicKnowledgeBase {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** Where a document's ingestion is: `queued` → `processing` → `ready` or `failed`. */
export type DocumentStatus = 'queued' | 'processing' | 'ready' | 'failed';

/** A document as the API (and the `document.status` frame) shows it. `progress` is 0 to 1. */
export interface PublicDocument {
  id: string;
  knowledgeBaseId: string;
  title: string;
  sourceUrl: string | null;
  contentType: string | null;
  sizeBytes: number | null;
  status: DocumentStatus;
  error: string | null;
  progress: number;
  pageCount: number | null;
  chunkCount: number;
  uploaderId: string;
  createdAt: string;
  updatedAt: string;
}

/** One retrieved chunk, best first. `score` is its reciprocal-rank-fusion score (higher is better). */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  documentTitle: string;
  knowledgeBaseId: string;
  /** 0-based position of the chunk in its document. */
  position: number;
  text: string;
  score: number;
}
