import type { AttachmentPart } from '../attachments/attachments.ts';
import type { messages, MessageStatus } from '../db/schema.ts';

export type MessageRow = typeof messages.$inferSelect;

/** Token usage and timing of an agent's message (SPEC §3). */
export interface MessageUsage {
  inputTokens?: number;
  outputTokens?: number;
  model?: string;
  latencyMs?: number;
}

/**
 * A tool call of an agent and, once it ran, its result: one part updated in place
 * (`running` → `done` | `error`), streamed live as `message.delta` part updates.
 * `name` is the model-facing name (`server__tool`), `ref` the agent's tool ref it came from.
 */
export interface ToolCallPart {
  type: 'tool-call';
  toolCallId: string;
  name: string;
  ref: string | null;
  args: Record<string, unknown>;
  /** `awaiting-approval` while a person decides (the run is paused), `denied` when they refused it. */
  state: 'running' | 'done' | 'error' | 'awaiting-approval' | 'denied';
  /** The tool's text result (also for a tool's own failure, `isError: true`). */
  result?: { text: string; isError: boolean };
  /** Why the call could not be made (server down, timeout, unknown tool, bad arguments). */
  error?: string;
}

/**
 * A knowledge chunk an agent's reply was given (the chain's `rag` step). `index` is the `[n]` the
 * context (and so the reply's text) uses; `position` is the chunk's 0-based place in its document;
 * `excerpt` is the chunk's start (280 characters), for showing the source.
 */
export interface CitationPart {
  type: 'citation';
  index: number;
  documentId: string;
  chunkId: string;
  documentTitle: string;
  knowledgeBaseId: string;
  position: number;
  excerpt: string;
}

/**
 * A paused run asks a person (`addressedTo`, a user id) for input: `approval` of one tool call with
 * exactly `args` (`argsHash` binds the answer to them), or a `question` (`call_human`) answered by
 * a thread reply to the message carrying this part. `status` changes from `pending` once, to
 * `approved`, `denied`, `answered`, `expired` or `cancelled`; the message is updated then.
 */
export interface HumanRequestPart {
  type: 'human-request';
  requestId: string;
  runId: string;
  kind: 'approval' | 'question';
  addressedTo: string;
  /** approval only */
  toolName?: string;
  toolRef?: string | null;
  args?: Record<string, unknown>;
  argsHash?: string;
  /** question only */
  question?: string;
  status: 'pending' | 'approved' | 'denied' | 'answered' | 'expired' | 'cancelled';
  expiresAt: string;
}

/** One entry of a message's `parts` (SPEC §3): attachments, tool calls with results, citations, human requests. */
export type MessagePart = AttachmentPart | ToolCallPart | CitationPart | HumanRequestPart;

/** A message as every transport shows it (SPEC §3). Timestamps are ISO 8601 strings. */
export interface PublicMessage {
  id: string;
  conversationId: string;
  seq: number;
  threadRootId: string | null;
  sender: { type: 'user' | 'agent'; id: string; handle: string };
  onBehalfOf: string | null;
  content: string;
  parts: MessagePart[];
  status: MessageStatus;
  error: string | null;
  usage: MessageUsage | null;
  runId: string | null;
  clientMsgId: string | null;
  createdAt: string;
  editedAt: string | null;
  /** Set on a tombstone: content '' and parts [], seq kept. */
  deletedAt: string | null;
  /** The conversation's change counter at this message's last edit, delete, reaction or reply; 0 if never. */
  updatedSeq: number;
  /** On a thread root: its replies (not deleted) and the time of the latest. */
  replyCount: number;
  lastReplyAt: string | null;
  reactions: MessageReaction[];
  /**
   * On a forwarded copy: where it came from. Every field is null (origin hidden) unless the
   * message was read through a per-reader path that found the reader in the source conversation.
   */
  forwardedFrom: { messageId: string | null; conversationId: string | null; senderHandle: string | null } | null;
}

/** One emoji on a message: how many members reacted with it and who, first reactor first. */
export interface MessageReaction {
  emoji: string;
  count: number;
  userIds: string[];
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
