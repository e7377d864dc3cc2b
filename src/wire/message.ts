/**
 * The public shape of a message and its parts (SPEC §3), shared by the server and the web client
 * (web/src/client). Dependency-free on purpose: this folder is compiled into the browser bundle,
 * so it imports nothing outside src/wire (a lint rule keeps it so). Timestamps are ISO 8601 strings.
 */

/** Where a message is in its life: an agent's starts `streaming` and always ends in another status. */
export type MessageStatus = 'complete' | 'streaming' | 'failed' | 'cancelled' | 'interrupted';

/** Token usage and timing of an agent's message (SPEC §3). */
export interface MessageUsage {
  inputTokens?: number;
  outputTokens?: number;
  model?: string;
  latencyMs?: number;
}

/** The message part of an attachment (SPEC §3 parts). URLs are relative to the server. */
export interface AttachmentPart {
  type: 'attachment';
  attachmentId: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  url: string;
  thumbnailUrl?: string;
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

/** One emoji on a message: how many members reacted with it and who, first reactor first. */
export interface MessageReaction {
  emoji: string;
  count: number;
  userIds: string[];
}

/** A message as every transport shows it in full (SPEC §3): REST answers and acks. */
export interface PublicMessage {
  id: string;
  conversationId: string;
  /** 1, 2, 3 … per conversation, no gaps. */
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

/**
 * Fields of a message that the compact wire form leaves out when they hold their default, and
 * that default. The REST shape and acks always carry them; `message`, `message.done` and
 * `message.updated` frames omit them (docs/protocol.md, "Compact message frames"). The server
 * strips them (src/messages/wire-message.ts), the web client fills them back in (web/src/client/wire.ts).
 */
export const wireMessageDefaults = {
  threadRootId: null,
  onBehalfOf: null,
  parts: [],
  error: null,
  usage: null,
  runId: null,
  clientMsgId: null,
  editedAt: null,
  deletedAt: null,
  updatedSeq: 0,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  forwardedFrom: null,
} as const satisfies Partial<PublicMessage>;

/** A message as `message` / `message.done` / `message.updated` frames carry it: defaults omitted. */
export type WireMessage = Omit<PublicMessage, keyof typeof wireMessageDefaults> &
  Partial<Pick<PublicMessage, keyof typeof wireMessageDefaults>>;
