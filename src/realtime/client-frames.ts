import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';

/** The client's correlation id, echoed in `ack`/`error`/`pong`: a string (≤ 100 chars) or an integer. */
const frameId = z.union([z.string().max(100), z.number().int()]).optional();
const conversationId = z.uuid();

/** One zod schema per client frame type (SPEC §5); unknown fields are ignored. */
const clientFrameSchemas = {
  auth: z.object({ type: z.literal('auth'), id: frameId, token: z.string().min(1).max(8192) }),
  send: z.object({
    type: z.literal('send'),
    id: frameId,
    conversationId,
    clientMsgId: z.string().min(1).max(100),
    content: z.string().min(1),
    threadRootId: z.uuid().optional(),
    attachmentIds: z.array(z.uuid()).max(10).optional(),
  }),
  sync: z.object({
    type: z.literal('sync'),
    id: frameId,
    conversationId,
    afterSeq: z.number().int().min(0),
    limit: z.number().int().min(1).optional(),
    /** Also replay `message.updated` for messages (seq <= afterSeq) changed after this updatedSeq. */
    updatedAfter: z.number().int().min(0).optional(),
  }),
  edit: z.object({ type: z.literal('edit'), id: frameId, messageId: z.uuid(), content: z.string().min(1) }),
  delete: z.object({ type: z.literal('delete'), id: frameId, messageId: z.uuid() }),
  react: z.object({
    type: z.literal('react'),
    id: frameId,
    messageId: z.uuid(),
    emoji: z.string().min(1).max(64),
    on: z.boolean().default(true),
  }),
  /** Copies `messageId` into `conversationId` (a conversation the user belongs to). */
  forward: z.object({ type: z.literal('forward'), id: frameId, messageId: z.uuid(), conversationId }),
  typing: z.object({ type: z.literal('typing'), id: frameId, conversationId }),
  read: z.object({ type: z.literal('read'), id: frameId, conversationId, seq: z.number().int().min(0) }),
  cancel: z.object({ type: z.literal('cancel'), id: frameId, runId: z.uuid() }),
  approve: z.object({
    type: z.literal('approve'),
    id: frameId,
    runId: z.uuid(),
    approvalId: z.uuid(),
    decision: z.enum(['approve', 'deny']),
    argsHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  }),
  ping: z.object({ type: z.literal('ping'), id: frameId }),
} as const;

/** `auth`, `send`, `sync`, `edit`, `delete`, `react`, `forward`, `typing`, `read`, `cancel`, `approve`, `ping`. */
export type ClientFrameType = keyof typeof clientFrameSchemas;
/** A validated client frame of type `T`. */
export type ClientFrame<T extends ClientFrameType> = z.infer<(typeof clientFrameSchemas)[T]>;
/** The client's correlation id as echoed back; null when the frame had none or could not be parsed. */
export type FrameId = string | number | null;

/** A parsed-but-unvalidated frame: a JSON object, its `type` when a string, its `id` when valid. */
export interface RawFrame {
  type: string | undefined;
  id: FrameId;
  value: Record<string, unknown>;
}

/**
 * Parses a text frame into `{type, id, value}`. Throws invalid_request for binary frames, bad JSON
 * and anything but a JSON object.
 */
export function parseRawFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): RawFrame {
  if (isBinary) throw new AppError('invalid_request', 'Frames are JSON text; binary frames are not accepted');
  const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'Frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppError('invalid_request', 'Frame must be a JSON object');
  const record = value as Record<string, unknown>;
  const id = typeof record.id === 'string' || (typeof record.id === 'number' && Number.isInteger(record.id)) ? record.id : null;
  return { type: typeof record.type === 'string' ? record.type : undefined, id, value: record };
}

/** Validates `raw` against its type's schema. Throws invalid_request listing every issue. */
export function validateFrame<T extends ClientFrameType>(type: T, raw: RawFrame): ClientFrame<T> {
  const parsed = clientFrameSchemas[type].safeParse(raw.value);
  if (parsed.success) return parsed.data as ClientFrame<T>;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || 'frame', message: issue.message }));
  throw new AppError(
    'invalid_request',
    `Invalid ${type} frame: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    {
      details: issues,
    },
  );
}

/** Whether `type` names a client frame (a key of the command table). */
export function isClientFrameType(type: string): type is ClientFrameType {
  return Object.hasOwn(clientFrameSchemas, type);
}
