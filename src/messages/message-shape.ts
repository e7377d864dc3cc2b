import type { messages, MessageStatus } from '../db/schema.ts';

export type MessageRow = typeof messages.$inferSelect;

/** Token usage and timing of an agent's message (SPEC §3). */
export interface MessageUsage {
  inputTokens?: number;
  outputTokens?: number;
  model?: string;
  latencyMs?: number;
}

/** A message as every transport shows it (SPEC §3). Timestamps are ISO 8601 strings. */
export interface PublicMessage {
  id: string;
  conversationId: string;
  seq: number;
  threadRootId: string | null;
  sender: { type: 'user' | 'agent'; id: string; handle: string };
  onBehalfOf: string | null;
  content: string;
  parts: unknown[];
  status: MessageStatus;
  error: string | null;
  usage: MessageUsage | null;
  runId: string | null;
  clientMsgId: string | null;
  createdAt: string;
  editedAt: string | null;
}

export function toPublicMessage(row: MessageRow): PublicMessage {
  return {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    threadRootId: row.threadRootId,
    sender: { type: row.senderType, id: row.senderId, handle: row.senderHandle },
    onBehalfOf: row.onBehalfOf,
    content: row.content,
    parts: row.parts,
    status: row.status,
    error: row.error,
    usage: (row.usage as MessageUsage | null) ?? null,
    runId: row.runId,
    clientMsgId: row.clientMsgId,
    createdAt: row.createdAt.toISOString(),
    editedAt: row.editedAt?.toISOString() ?? null,
  };
}
