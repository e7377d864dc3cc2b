import { and, eq, inArray } from 'drizzle-orm';
import { fileTypeFromBuffer } from 'file-type';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { Config } from '../config/config.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Db, Executor } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { AttachmentPart } from '../wire/message.ts';
import type { AttachmentStorage } from './attachment-storage.ts';
import { attachments } from './schema.ts';

export interface AttachmentDeps {
  db: Db;
  storage: AttachmentStorage;
  config: Pick<Config, 'attachments'>;
}

export type { AttachmentPart };

type AttachmentRow = typeof attachments.$inferSelect;

/** Image types a browser may show inline and sharp can thumbnail. SVG is never one (it is a document). */
const safeImageTypes = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const thumbnailSidePx = 256;

/**
 * Stores an upload of the principal in a conversation they are a member of. The content type is
 * sniffed from the bytes (magic numbers; UTF-8 text without NULs is `text/plain`, anything else
 * unknown `application/octet-stream`) and must be allowed by config; a declared type or a file
 * name extension (`.png`, `.pdf`…) that disagrees with the bytes is refused. Images get a WebP thumbnail (≤ 256 px a side).
 * Throws not_found (not a member), invalid_request (disguised, not allowed, empty, undecodable
 * image). The size limit is applied while reading the upload (payload_too_large, by the route).
 */
export async function uploadAttachment(
  deps: AttachmentDeps,
  principal: Principal,
  conversationId: string,
  upload: { name: string; declaredType: string; bytes: Buffer },
): Promise<AttachmentPart> {
  await requireMembership(deps.db, principal.workspaceId, conversationId, principal.userId);
  if (upload.bytes.length === 0) throw new AppError('invalid_request', 'The file is empty');
  const contentType = await sniffType(upload.bytes);
  if (!isCompatible(upload.declaredType, contentType))
    throw new AppError('invalid_request', `The file's content is ${contentType}, not the declared ${upload.declaredType}`);
  const named = typeOfName(upload.name);
  if (named && named !== contentType)
    throw new AppError('invalid_request', `The file's content is ${contentType}, not the ${named} its name says`);
  if (!deps.config.attachments.allowedTypes.includes(contentType))
    throw new AppError('invalid_request', `Files of type ${contentType} are not accepted`, {
      details: { allowedTypes: deps.config.attachments.allowedTypes },
    });
  const id = uuidv7();
  const storageKey = `${principal.workspaceId}/${id}`;
  let thumbnailKey: string | null = null;
  if (safeImageTypes.has(contentType)) {
    const thumbnail = await makeThumbnail(upload.bytes);
    thumbnailKey = `${storageKey}.thumb`;
    await deps.storage.put(thumbnailKey, thumbnail, 'image/webp');
  }
  await deps.storage.put(storageKey, upload.bytes, contentType);
  const [row] = await deps.db
    .insert(attachments)
    .values({
      id,
      workspaceId: principal.workspaceId,
      conversationId,
      uploaderId: principal.userId,
      name: cleanName(upload.name),
      contentType,
      sizeBytes: upload.bytes.length,
      storageKey,
      thumbnailKey,
    })
    .returning();
  return toPart(row);
}

/**
 * The parts for `attachmentIds` on a send: each must be the sender's upload to the same
 * conversation. Throws invalid_request naming the first id that is not.
 */
export async function attachmentParts(
  db: Executor,
  principal: Principal,
  conversationId: string,
  attachmentIds: string[],
): Promise<AttachmentPart[]> {
  if (attachmentIds.length === 0) return [];
  const rows = await db
    .select()
    .from(attachments)
    .where(
      and(
        inArray(attachments.id, attachmentIds),
        eq(attachments.workspaceId, principal.workspaceId),
        eq(attachments.conversationId, conversationId),
        eq(attachments.uploaderId, principal.userId),
      ),
    );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return attachmentIds.map((id) => {
    const row = byId.get(id);
    if (!row) throw new AppError('invalid_request', `Attachment ${id} is not one of your uploads to this conversation`);
    return toPart(row);
  });
}

/**
 * The bytes of an attachment (or its thumbnail) for a member of its conversation, with how to
 * serve them: `inline` only for safe images. Throws not_found.
 */
export async function readAttachment(
  deps: AttachmentDeps,
  principal: Principal,
  attachmentId: string,
  variant: 'original' | 'thumbnail',
): Promise<{ bytes: Buffer; contentType: string; name: string; inline: boolean }> {
  const [row] = await deps.db
    .select()
    .from(attachments)
    .where(and(eq(attachments.id, attachmentId), eq(attachments.workspaceId, principal.workspaceId)));
  if (!row) throw new AppError('not_found', 'Attachment not found');
  await requireMembership(deps.db, principal.workspaceId, row.conversationId, principal.userId).catch(() => {
    throw new AppError('not_found', 'Attachment not found');
  });
  if (variant === 'thumbnail') {
    if (!row.thumbnailKey) throw new AppError('not_found', 'This attachment has no thumbnail');
    return { bytes: await deps.storage.get(row.thumbnailKey), contentType: 'image/webp', name: `${row.name}.webp`, inline: true };
  }
  return {
    bytes: await deps.storage.get(row.storageKey),
    contentType: row.contentType,
    name: row.name,
    inline: safeImageTypes.has(row.contentType),
  };
}

async function sniffType(bytes: Buffer): Promise<string> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected) return detected.mime;
  if (!bytes.includes(0)) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return 'text/plain';
    } catch {
      // not text
    }
  }
  return 'application/octet-stream';
}

/** Extensions of binary formats the sniffer recognizes: a name with one must carry that content. */
const typeByExtension: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
};

function typeOfName(name: string): string | undefined {
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return extension === undefined ? undefined : typeByExtension[extension];
}

/** A declared type agrees with the sniffed one when equal, generic, or both text. */
function isCompatible(declared: string, sniffed: string): boolean {
  const type = declared.split(';')[0].trim().toLowerCase();
  if (type === '' || type === 'application/octet-stream' || type === sniffed) return true;
  return type.startsWith('text/') && sniffed === 'text/plain';
}

/** Decodes, orients and shrinks an image to a WebP thumbnail. sharp (libvips, ~20 MB resident) loads on the first one. */
async function makeThumbnail(bytes: Buffer): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  try {
    return await sharp(bytes, { animated: false, limitInputPixels: 50_000_000 })
      .rotate()
      .resize(thumbnailSidePx, thumbnailSidePx, { fit: 'inside', withoutEnlargement: true })
      .webp()
      .toBuffer();
  } catch (error) {
    throw new AppError('invalid_request', 'The image could not be decoded', { cause: error });
  }
}

function cleanName(name: string): string {
  const base = [...name.replace(/^.*[\\/]/, '')]
    .filter((char) => char !== '"' && char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f)
    .join('')
    .trim();
  return base.slice(0, 200) || 'file';
}

/** The message part of a stored attachment. */
export function toPart(row: AttachmentRow): AttachmentPart {
  const url = `/api/v1/attachments/${row.id}`;
  return {
    type: 'attachment',
    attachmentId: row.id,
    name: row.name,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    url,
    ...(row.thumbnailKey ? { thumbnailUrl: `${url}/thumbnail` } : {}),
  };
}
