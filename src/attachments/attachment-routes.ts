import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../errors/app-error.ts';
import type { AppContext } from '../http/context.ts';
import { idParams } from '../http/schemas.ts';
import { readAttachment, uploadAttachment, type AttachmentDeps } from './attachments.ts';

/** Upload (`multipart/form-data`, one `file` field) and download of attachments. */
export function attachmentRoutes(context: AppContext): FastifyPluginAsyncZod {
  const deps: AttachmentDeps = { db: context.db, storage: context.attachmentStorage, config: context.config };
  return async (app) => {
    await app.register(multipart, { limits: { fileSize: context.config.attachments.maxBytes, files: 1, fields: 0 } });

    app.post(
      '/conversations/:id/attachments',
      {
        schema: {
          tags: ['attachments'],
          summary: 'Upload a file (multipart field "file"); send it with attachmentIds',
          params: idParams,
          consumes: ['multipart/form-data'],
        },
      },
      async (request, reply) => {
        if (!request.isMultipart()) throw new AppError('invalid_request', 'Send the file as multipart/form-data');
        const file = await request.file();
        if (!file) throw new AppError('invalid_request', 'The form has no file');
        let bytes: Buffer;
        try {
          bytes = await file.toBuffer();
        } catch (error) {
          if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new AppError('payload_too_large', `Files are limited to ${context.config.attachments.maxBytes} bytes`);
          throw error;
        }
        const part = await uploadAttachment(deps, request.principal, request.params.id, {
          name: file.filename,
          declaredType: file.mimetype,
          bytes,
        });
        return reply.status(201).send(part);
      },
    );

    for (const variant of ['original', 'thumbnail'] as const) {
      app.get(
        variant === 'original' ? '/attachments/:id' : '/attachments/:id/thumbnail',
        { schema: { tags: ['attachments'], summary: `Download an attachment (${variant}); members only`, params: idParams } },
        async (request, reply) => {
          const file = await readAttachment(deps, request.principal, request.params.id, variant);
          const disposition = file.inline ? 'inline' : 'attachment';
          return reply
            .header('content-type', file.contentType)
            .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(file.name)}`)
            .header('x-content-type-options', 'nosniff')
            .header('content-security-policy', "default-src 'none'; sandbox")
            .header('cache-control', 'private, max-age=3600')
            .send(file.bytes);
        },
      );
    }
  };
}
