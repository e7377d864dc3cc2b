import type { messages } from '../db/schema.ts';
import type { MessagePart, MessageReaction, MessageUsage, PublicMessage } from '../wire/message.ts';

// The public shapes live in src/wire (shared with the web client); re-exported for the server's features.
export type { CitationPart, HumanRequestPart, MessagePart, MessageUsage, PublicMessage, ToolCallPart } from '../wire/message.ts';

export type MessageRow = typeof messages.$inferSelect;

/** The public shape of a stored message row. */
export function toPublicMessage(row: MessageRow): PublicMessage {
  return {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    threadRootId: row.threadRootId,
    sender: { type: row.senderType, id: row.senderId, handle: row.senderHandle },
    onBehalfOf: row.onBehalfOf,
    content: row.content,
    parts: row.parts as MessagePart[],
    status: row.status,
    error: row.error,
    usage: (row.usage as MessageUsage | null) ?? null,
    runId: row.runId,
    clientMsgId: row.clientMsgId,
    createdAt: row.createdAt.toISOString(),
    editedAt: row.editedAt?.toISOString() ?? null,
    deletedAt: row.deletedAt?.toISOString() ?? null,
    updatedSeq: row.updatedSeq,
    replyCount: row.replyCount,
    lastReplyAt: row.lastReplyAt?.toISOString() ?? null,
    reactions: row.reactions as MessageReaction[],
    forwardedFrom: row.forwardedFrom ? { messageId: null, conversationId: null, senderHandle: null } : null,
  };
}
