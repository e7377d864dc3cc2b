/** Tables of the knowledge feature: knowledge bases, their documents and the documents' chunks. */
import { sql } from 'drizzle-orm';
import { customType, index, integer, pgTable, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { DocumentStatus } from '../wire/knowledge.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** A named set of documents in a workspace; agents list the ones they draw on. */
export const knowledgeBases = pgTable(
  'knowledge_bases',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('knowledge_bases_workspace_name').on(table.workspaceId, sql`lower(${table.name})`)],
);

/** An uploaded or fetched document: its original (in attachment storage), extracted text and ingestion status. */
export const knowledgeDocuments = pgTable(
  'knowledge_documents',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    knowledgeBaseId: uuid('knowledge_base_id')
      .notNull()
      .references(() => knowledgeBases.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    /** Set for a document fetched from a URL. */
    sourceUrl: text('source_url'),
    /** `text/plain`, `text/markdown`, `text/html` or `application/pdf`; null until a URL is fetched. */
    contentType: text('content_type'),
    sizeBytes: integer('size_bytes'),
    storageKey: text('storage_key'),
    status: text('status', { enum: ['queued', 'processing', 'ready', 'failed'] })
      .$type<DocumentStatus>()
      .notNull(),
    error: text('error'),
    /** 0 to 1 while processing. */
    progress: real('progress').notNull().default(0),
    pageCount: integer('page_count'),
    chunkCount: integer('chunk_count').notNull().default(0),
    extractedText: text('extracted_text'),
    uploaderId: uuid('uploader_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('knowledge_documents_base').on(table.knowledgeBaseId, table.createdAt)],
);

/** A retrievable piece of a document; `search_tsv` (English stemming, GIN) serves full-text search. */
export const knowledgeChunks = pgTable(
  'knowledge_chunks',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    knowledgeBaseId: uuid('knowledge_base_id').notNull(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => knowledgeDocuments.id, { onDelete: 'cascade' }),
    /** 0-based order in the document. */
    position: integer('position').notNull(),
    /** The heading path the chunk sits under (`Setup › Docker`), '' when none. */
    heading: text('heading').notNull().default(''),
    text: text('text').notNull(),
    searchTsv: tsvector('search_tsv').generatedAlwaysAs(sql`to_tsvector('english'::regconfig, "heading" || ' ' || "text")`),
  },
  (table) => [
    index('knowledge_chunks_document').on(table.documentId, table.position),
    index('knowledge_chunks_base').on(table.knowledgeBaseId),
    index('knowledge_chunks_search_tsv').using('gin', table.searchTsv),
  ],
);

/**
 * A chunk's embedding, unit-normalised, as `real[]` so that every PostgreSQL (and PGlite) can store
 * it; search casts it to pgvector's `vector` when that extension is installed (src/knowledge/embeddings.ts).
 */
export const knowledgeChunkEmbeddings = pgTable(
  'knowledge_chunk_embeddings',
  {
    chunkId: uuid('chunk_id')
      .primaryKey()
      .references(() => knowledgeChunks.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id').notNull(),
    knowledgeBaseId: uuid('knowledge_base_id').notNull(),
    embedding: real('embedding').array().notNull(),
  },
  (table) => [index('knowledge_chunk_embeddings_base').on(table.knowledgeBaseId)],
);
