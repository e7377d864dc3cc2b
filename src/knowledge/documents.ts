import { and, desc, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { uuidv7 } from 'uuidv7';
import type { AttachmentStorage } from '../attachments/attachment-storage.ts';
import type { Principal } from '../auth/auth-service.ts';
import { userTopic, type EventBus } from '../bus/event-bus.ts';
import type { Config } from '../config/config.ts';
import type { Db, Executor } from '../db/database.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { jobPriority, type JobQueue } from '../jobs/job-queue.ts';
import { checkOutboundUrl, type OutboundPolicy } from '../net/url-policy.ts';
import { getUser } from '../users/users.ts';
import type { Embedder } from './embeddings.ts';
import { detectDocumentType } from './extract-text.ts';
import { deleteKnowledgeBase, getKnowledgeBase } from './knowledge-bases.ts';
import type { PublicDocument } from '../wire/knowledge.ts';
import { knowledgeDocuments } from './schema.ts';

/** What the knowledge feature needs from the app. `embedder` is set only when vectors are available. */
export interface KnowledgeDeps {
  db: Db;
  bus: EventBus;
  jobs: JobQueue;
  storage: AttachmentStorage;
  config: Pick<Config, 'knowledge'>;
  outboundPolicy: OutboundPolicy;
  /** The guarded fetch (src/net/url-policy.ts) for URL documents. */
  fetch: typeof fetch;
  embedder: Embedder | undefined;
  logger: Logger;
}

/** The job kind that ingests one document. */
export const ingestJobKind = 'knowledge.ingest';
/** Data of an ingestion job. */
export interface IngestJobData {
  documentId: string;
  workspaceId: string;
}

type DocumentRow = typeof knowledgeDocuments.$inferSelect;

export function toPublicDocument(row: DocumentRow): PublicDocument {
  return {
    id: row.id,
    knowledgeBaseId: row.knowledgeBaseId,
    title: row.title,
    sourceUrl: row.sourceUrl,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    status: row.status,
    error: row.error,
    progress: row.progress,
    pageCount: row.pageCount,
    chunkCount: row.chunkCount,
    uploaderId: row.uploaderId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Stores an uploaded document (original in attachment storage) as `queued` and queues its
 * ingestion. The type is detected from the bytes, declared type and name (text, Markdown, HTML,
 * PDF). Throws not_found (knowledge base), invalid_request (empty, unsupported type). The size
 * limit is applied while reading the upload (payload_too_large, by the route).
 */
export async function uploadDocument(
  deps: KnowledgeDeps,
  principal: Principal,
  knowledgeBaseId: string,
  upload: { name: string; declaredType: string; bytes: Buffer; title?: string },
): Promise<PublicDocument> {
  await getKnowledgeBase(deps.db, principal.workspaceId, knowledgeBaseId);
  if (upload.bytes.length === 0) throw new AppError('invalid_request', 'The file is empty');
  const contentType = await detectDocumentType(upload.bytes, upload.declaredType, upload.name);
  const id = uuidv7();
  const storageKey = `${principal.workspaceId}/${id}`;
  await deps.storage.put(storageKey, upload.bytes, contentType);
  return insertAndQueue(deps, principal, {
    id,
    knowledgeBaseId,
    title: cleanTitle(upload.title ?? upload.name),
    contentType,
    sizeBytes: upload.bytes.length,
    storageKey,
  });
}

/**
 * Records a document to fetch from `url` (http/https, checked against the outbound URL policy now
 * and again when fetched) as `queued` and queues its ingestion. Throws not_found (knowledge base),
 * invalid_request (bad URL), forbidden (a private or loopback address not allow-listed).
 */
export async function addUrlDocument(
  deps: KnowledgeDeps,
  principal: Principal,
  knowledgeBaseId: string,
  input: { url: string; title?: string },
): Promise<PublicDocument> {
  await getKnowledgeBase(deps.db, principal.workspaceId, knowledgeBaseId);
  const { url } = await checkOutboundUrl(input.url, deps.outboundPolicy);
  return insertAndQueue(deps, principal, {
    id: uuidv7(),
    knowledgeBaseId,
    title: input.title ? cleanTitle(input.title) : url.toString().slice(0, 300),
    sourceUrl: url.toString(),
  });
}

async function insertAndQueue(
  deps: KnowledgeDeps,
  principal: Principal,
  values: Pick<DocumentRow, 'id' | 'knowledgeBaseId' | 'title'> & Partial<DocumentRow>,
): Promise<PublicDocument> {
  const [row] = await deps.db
    .insert(knowledgeDocuments)
    .values({ ...values, workspaceId: principal.workspaceId, status: 'queued', uploaderId: principal.userId })
    .returning();
  await queueIngestion(deps, row!);
  return toPublicDocument(row!);
}

/** Queues the ingestion job of a stored document (bulk priority: interactive work goes first). */
export async function queueIngestion(
  deps: Pick<KnowledgeDeps, 'jobs'>,
  row: Pick<DocumentRow, 'id' | 'workspaceId'>,
): Promise<void> {
  const data: IngestJobData = { documentId: row.id, workspaceId: row.workspaceId };
  await deps.jobs.enqueue(ingestJobKind, data, { priority: jobPriority.bulk, workspaceId: row.workspaceId });
}

/** The documents of a knowledge base of the caller's workspace, newest first. Throws not_found. */
export async function listDocuments(db: Executor, principal: Principal, knowledgeBaseId: string): Promise<PublicDocument[]> {
  await getKnowledgeBase(db, principal.workspaceId, knowledgeBaseId);
  const rows = await db
    .select()
    .from(knowledgeDocuments)
    .where(
      and(eq(knowledgeDocuments.workspaceId, principal.workspaceId), eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId)),
    )
    .orderBy(desc(knowledgeDocuments.createdAt));
  return rows.map(toPublicDocument);
}

/** One document of a knowledge base of the caller's workspace; not_found otherwise. */
export async function getDocument(
  db: Executor,
  principal: Principal,
  knowledgeBaseId: string,
  documentId: string,
): Promise<PublicDocument> {
  const [row] = await db
    .select()
    .from(knowledgeDocuments)
    .where(
      and(
        eq(knowledgeDocuments.workspaceId, principal.workspaceId),
        eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId),
        eq(knowledgeDocuments.id, documentId),
      ),
    );
  if (!row) throw notFound('Document');
  return toPublicDocument(row);
}

/** Deletes a document, its chunks and its stored original (its uploader or an admin). Throws not_found, forbidden. */
export async function deleteDocument(
  deps: Pick<KnowledgeDeps, 'db' | 'storage' | 'logger'>,
  principal: Principal,
  knowledgeBaseId: string,
  documentId: string,
): Promise<void> {
  const document = await getDocument(deps.db, principal, knowledgeBaseId, documentId);
  if (document.uploaderId !== principal.userId) {
    const user = await getUser(deps.db, principal.workspaceId, principal.userId);
    if (user.role === 'member') throw new AppError('forbidden', 'Only the uploader or an admin can delete this document');
  }
  const [row] = await deps.db
    .delete(knowledgeDocuments)
    .where(eq(knowledgeDocuments.id, documentId))
    .returning({ storageKey: knowledgeDocuments.storageKey });
  await removeOriginals(deps, [row?.storageKey ?? null]);
}

/**
 * Deletes a knowledge base with its documents, chunks and stored originals (its creator or an
 * admin). Throws not_found, forbidden.
 */
export async function deleteKnowledgeBaseAndFiles(
  deps: Pick<KnowledgeDeps, 'db' | 'storage' | 'logger'>,
  principal: Principal,
  knowledgeBaseId: string,
): Promise<void> {
  const keys = await deps.db
    .select({ storageKey: knowledgeDocuments.storageKey })
    .from(knowledgeDocuments)
    .where(
      and(eq(knowledgeDocuments.workspaceId, principal.workspaceId), eq(knowledgeDocuments.knowledgeBaseId, knowledgeBaseId)),
    );
  await deleteKnowledgeBase(deps.db, principal, knowledgeBaseId);
  await removeOriginals(
    deps,
    keys.map((key) => key.storageKey),
  );
}

/** Removes stored originals once their rows are gone; a storage failure leaves an orphan file and is logged. */
async function removeOriginals(deps: Pick<KnowledgeDeps, 'storage' | 'logger'>, keys: Array<string | null>): Promise<void> {
  for (const key of keys) {
    if (!key) continue;
    await deps.storage
      .delete(key)
      .catch((error: unknown) => deps.logger.warn({ err: error, key }, 'removing a document file failed'));
  }
}

/**
 * Updates a document's ingestion state and pushes `document.status {document}` to its uploader's
 * connections (`user:<id>` topic). Resolves to the row, or undefined when the document was deleted.
 */
export async function setDocumentState(
  deps: Pick<KnowledgeDeps, 'db' | 'bus' | 'logger'>,
  documentId: string,
  changes: DocumentChanges,
): Promise<DocumentRow | undefined> {
  const row = await updateDocumentRow(deps.db, documentId, changes);
  if (row) await publishDocumentStatus(deps, row);
  return row;
}

type DocumentChanges = Partial<Omit<DocumentRow, 'id' | 'workspaceId' | 'knowledgeBaseId'>>;

/** Updates a document row (in a caller's transaction, say) without announcing it; undefined when deleted. */
export async function updateDocumentRow(
  db: Executor,
  documentId: string,
  changes: DocumentChanges,
): Promise<DocumentRow | undefined> {
  const [row] = await db
    .update(knowledgeDocuments)
    .set({ ...changes, updatedAt: new Date() })
    .where(eq(knowledgeDocuments.id, documentId))
    .returning();
  return row;
}

/** Pushes `document.status {document}` to the uploader's connections; a bus failure is logged, not thrown. */
export async function publishDocumentStatus(deps: Pick<KnowledgeDeps, 'bus' | 'logger'>, row: DocumentRow): Promise<void> {
  await deps.bus
    .publish(userTopic(row.uploaderId), { type: 'document.status', document: toPublicDocument(row) })
    .catch((error: unknown) => deps.logger.warn({ err: error, documentId: row.id }, 'publishing document.status failed'));
}

function cleanTitle(name: string): string {
  const base = [...name.replace(/^.*[\\/](?=.)/, '')]
    .filter((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f)
    .join('')
    .trim();
  return base.slice(0, 300) || 'Untitled document';
}
