import { eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import { AppError } from '../errors/app-error.ts';
import type { JobDefinition, JobRun } from '../jobs/job-queue.ts';
import { chunkText } from './chunk-text.ts';
import {
  ingestJobKind,
  publishDocumentStatus,
  setDocumentState,
  updateDocumentRow,
  type IngestJobData,
  type KnowledgeDeps,
} from './documents.ts';
import { storeEmbeddings } from './embeddings.ts';
import { detectDocumentType, extractText, type DocumentType } from './extract-text.ts';
import { knowledgeChunks, knowledgeDocuments } from './schema.ts';

const ingestAttempts = 3;
/** Texts per embedding request. */
const embedBatchSize = 64;

/**
 * The ingestion job kind: fetch (URL documents) or read the stored original, extract its text,
 * chunk it, embed the chunks when vectors are on, then replace the document's chunks and mark it
 * `ready` in one transaction (a retried or repeated job leaves one set of chunks). A client error
 * (unsupported or unreadable content, a refused URL, an HTTP 4xx) fails the document at once; any
 * other error is retried with backoff and, after the last attempt, the document is `failed` with
 * the error. Progress is pushed to the uploader as `document.status`.
 */
export function ingestionJob(deps: KnowledgeDeps, retryBaseDelayMs: number): JobDefinition<IngestJobData> {
  return {
    kind: ingestJobKind,
    concurrency: deps.config.knowledge.ingestConcurrency,
    attempts: ingestAttempts,
    backoffMs: retryBaseDelayMs,
    async handle(data, job) {
      try {
        await ingestDocument(deps, data, job);
      } catch (error) {
        const message = (error as Error).message;
        if (AppError.isInstance(error) && (error.code === 'invalid_request' || error.code === 'forbidden')) {
          await setDocumentState(deps, data.documentId, { status: 'failed', error: message, progress: 0 });
          return;
        }
        if (job.attempt < job.maxAttempts) {
          await setDocumentState(deps, data.documentId, {
            status: 'queued',
            error: `Attempt ${job.attempt} of ${job.maxAttempts} failed (${message}); retrying`,
          });
        }
        throw error;
      }
    },
    async onDeadLetter(data, error) {
      await setDocumentState(deps, data.documentId, { status: 'failed', error, progress: 0 });
    },
  };
}

async function ingestDocument(deps: KnowledgeDeps, data: IngestJobData, job: JobRun): Promise<void> {
  const [document] = await deps.db.select().from(knowledgeDocuments).where(eq(knowledgeDocuments.id, data.documentId));
  if (!document || document.workspaceId !== data.workspaceId) return; // deleted meanwhile
  const progress = async (fraction: number) => {
    await job.reportProgress(fraction);
    await setDocumentState(deps, document.id, { status: 'processing', progress: fraction });
  };
  await progress(0.05);
  let contentType = document.contentType as DocumentType | null;
  let bytes: Buffer;
  if (document.storageKey && contentType) {
    bytes = await deps.storage.get(document.storageKey);
  } else if (document.sourceUrl) {
    const fetched = await fetchDocument(deps, document.sourceUrl, job.signal);
    bytes = fetched.bytes;
    contentType = fetched.contentType;
    const storageKey = `${document.workspaceId}/${document.id}`;
    await deps.storage.put(storageKey, bytes, contentType);
    await setDocumentState(deps, document.id, { contentType, sizeBytes: bytes.length, storageKey });
  } else {
    throw new AppError('invalid_request', 'The document has neither a stored file nor a URL');
  }
  await progress(0.2);
  const extracted = await extractText(bytes, contentType);
  const chunks = chunkText(extracted.text);
  if (chunks.length === 0) throw new AppError('invalid_request', 'No text could be extracted from this document');
  await progress(0.4);
  const vectors: number[][] = [];
  if (deps.embedder) {
    for (let start = 0; start < chunks.length; start += embedBatchSize) {
      const batch = chunks.slice(start, start + embedBatchSize);
      vectors.push(
        ...(await deps.embedder.embed(
          batch.map((chunk) => embeddingInput(chunk.heading, chunk.text)),
          job.signal,
        )),
      );
      await progress(0.4 + (0.5 * Math.min(chunks.length, start + embedBatchSize)) / chunks.length);
    }
  }
  const rows = chunks.map((chunk) => ({
    id: uuidv7(),
    workspaceId: document.workspaceId,
    knowledgeBaseId: document.knowledgeBaseId,
    documentId: document.id,
    position: chunk.position,
    heading: chunk.heading,
    text: chunk.text,
  }));
  const ready = await deps.db.transaction(async (tx) => {
    await tx.delete(knowledgeChunks).where(eq(knowledgeChunks.documentId, document.id));
    for (let start = 0; start < rows.length; start += 500)
      await tx.insert(knowledgeChunks).values(rows.slice(start, start + 500));
    if (vectors.length === rows.length) {
      await storeEmbeddings(
        tx,
        rows.map((row, index) => ({
          chunkId: row.id,
          workspaceId: row.workspaceId,
          knowledgeBaseId: row.knowledgeBaseId,
          embedding: vectors[index]!,
        })),
      );
    }
    return updateDocumentRow(tx, document.id, {
      status: 'ready',
      error: null,
      progress: 1,
      pageCount: extracted.pageCount,
      chunkCount: rows.length,
      extractedText: extracted.text,
    });
  });
  // Announced once committed: a client told `ready` finds the chunks.
  if (ready) await publishDocumentStatus(deps, ready);
  await job.reportProgress(1);
}

/** What is embedded for a chunk: its heading path gives a short chunk its topic. */
export function embeddingInput(heading: string, text: string): string {
  return heading ? `${heading}\n\n${text}` : text;
}

/**
 * GETs a URL document through the guarded fetch, reading at most the document size limit. Throws
 * invalid_request (HTTP 4xx, too large, unsupported type), forbidden (the URL policy) or a plain
 * Error (HTTP 5xx, network: retried).
 */
async function fetchDocument(
  deps: KnowledgeDeps,
  url: string,
  signal: AbortSignal,
): Promise<{ bytes: Buffer; contentType: DocumentType }> {
  const response = await deps.fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
  if (response.status >= 400 && response.status < 500) {
    throw new AppError('invalid_request', `Fetching ${url} failed: HTTP ${response.status}`);
  }
  if (!response.ok) throw new Error(`Fetching ${url} failed: HTTP ${response.status}`);
  const limit = deps.config.knowledge.maxDocumentBytes;
  const parts: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    const part = read.value;
    size += part.byteLength;
    if (size > limit) {
      await reader?.cancel();
      throw new AppError('invalid_request', `The document at ${url} is larger than ${limit} bytes`);
    }
    parts.push(Buffer.from(part));
  }
  const bytes = Buffer.concat(parts);
  if (bytes.length === 0) throw new AppError('invalid_request', `The document at ${url} is empty`);
  const declared = response.headers.get('content-type') ?? '';
  return { bytes, contentType: await detectDocumentType(bytes, declared, new URL(url).pathname) };
}
