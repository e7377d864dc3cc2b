import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import { idParams } from '../http/schemas.ts';
import {
  addUrlDocument,
  deleteDocument,
  deleteKnowledgeBaseAndFiles,
  getDocument,
  listDocuments,
  uploadDocument,
} from './documents.ts';
import { createKnowledgeBase, getKnowledgeBase, listKnowledgeBases, updateKnowledgeBase } from './knowledge-bases.ts';
import type { KnowledgeFeature } from './knowledge-feature.ts';
import { searchKnowledgeBase } from './search-knowledge.ts';

const documentParams = z.object({ id: z.uuid(), documentId: z.uuid() });
const nameSchema = z.string().trim().min(1).max(100);
const descriptionSchema = z.string().max(2_000);

/** Knowledge bases, their documents and search under /knowledge-bases (docs/api.md). */
export function knowledgeRoutes(feature: KnowledgeFeature): FastifyPluginAsyncZod {
  const { deps } = feature;
  const { db } = deps;
  const maxBytes = deps.config.knowledge.maxDocumentBytes;
  return async (app) => {
    await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 2 } });
    const tags = ['knowledge'];

    app.get(
      '/knowledge-bases',
      { schema: { tags, summary: "The workspace's knowledge bases, newest first" } },
      async (request) => ({
        items: await listKnowledgeBases(db, request.principal),
        nextCursor: null,
      }),
    );

    app.post(
      '/knowledge-bases',
      {
        schema: {
          tags,
          summary: 'Create a knowledge base',
          body: z.object({ name: nameSchema, description: descriptionSchema.optional() }),
        },
      },
      async (request, reply) => reply.status(201).send(await createKnowledgeBase(db, request.principal, request.body)),
    );

    app.get('/knowledge-bases/:id', { schema: { tags, summary: 'One knowledge base', params: idParams } }, async (request) =>
      getKnowledgeBase(db, request.principal.workspaceId, request.params.id),
    );

    app.patch(
      '/knowledge-bases/:id',
      {
        schema: {
          tags,
          summary: 'Rename or describe a knowledge base (its creator or an admin)',
          params: idParams,
          body: z.object({ name: nameSchema.optional(), description: descriptionSchema.optional() }),
        },
      },
      async (request) => updateKnowledgeBase(db, request.principal, request.params.id, request.body),
    );

    app.delete(
      '/knowledge-bases/:id',
      { schema: { tags, summary: 'Delete a knowledge base and its documents (its creator or an admin)', params: idParams } },
      async (request, reply) => {
        await deleteKnowledgeBaseAndFiles(deps, request.principal, request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/knowledge-bases/:id/documents',
      { schema: { tags, summary: 'Documents of a knowledge base, newest first, with their ingestion status', params: idParams } },
      async (request) => ({ items: await listDocuments(db, request.principal, request.params.id), nextCursor: null }),
    );

    app.post(
      '/knowledge-bases/:id/documents',
      {
        schema: {
          tags,
          summary:
            'Add a document: multipart field "file" (text, Markdown, HTML, PDF; optional field "title"), or JSON {url, title?}. Ingestion runs as a job; the document starts queued',
          params: idParams,
          consumes: ['multipart/form-data', 'application/json'],
        },
      },
      async (request, reply) => {
        if (!request.isMultipart()) {
          const body = z.object({ url: z.string().min(1).max(2_000), title: nameSchema.optional() }).safeParse(request.body);
          if (!body.success) throw new AppError('invalid_request', 'Send a file as multipart/form-data, or JSON {url, title?}');
          return reply.status(201).send(await addUrlDocument(deps, request.principal, request.params.id, body.data));
        }
        const file = await request.file();
        if (!file) throw new AppError('invalid_request', 'The form has no file');
        let bytes: Buffer;
        try {
          bytes = await file.toBuffer();
        } catch (error) {
          if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new AppError('payload_too_large', `Documents are limited to ${maxBytes} bytes`);
          throw error;
        }
        const titleField = file.fields.title;
        const title =
          titleField && !Array.isArray(titleField) && titleField.type === 'field' && typeof titleField.value === 'string'
            ? titleField.value.trim() || undefined
            : undefined;
        const document = await uploadDocument(deps, request.principal, request.params.id, {
          name: file.filename,
          declaredType: file.mimetype,
          bytes,
          title,
        });
        return reply.status(201).send(document);
      },
    );

    app.get(
      '/knowledge-bases/:id/documents/:documentId',
      { schema: { tags, summary: 'One document with its ingestion status', params: documentParams } },
      async (request) => getDocument(db, request.principal, request.params.id, request.params.documentId),
    );

    app.delete(
      '/knowledge-bases/:id/documents/:documentId',
      { schema: { tags, summary: 'Delete a document and its chunks (its uploader or an admin)', params: documentParams } },
      async (request, reply) => {
        await deleteDocument(deps, request.principal, request.params.id, request.params.documentId);
        return reply.status(204).send();
      },
    );

    app.post(
      '/knowledge-bases/:id/search',
      {
        schema: {
          tags,
          summary: 'Ranked chunks of the knowledge base matching a query (full-text, fused with vectors when configured)',
          params: idParams,
          body: z.object({ query: z.string().trim().min(1).max(2_000), limit: z.number().int().min(1).max(50).default(10) }),
        },
      },
      async (request) => ({
        items: await searchKnowledgeBase(feature.search, request.principal, request.params.id, request.body),
        nextCursor: null,
      }),
    );
  };
}
