/** Wire shapes of the Chorus public API (SPEC §3–§5). Timestamps are ISO 8601 strings. */

export type Role = 'owner' | 'admin' | 'member';

/** A person in a workspace (never their password). */
export interface User {
  id: string;
  workspaceId: string;
  handle: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export interface Workspace {
  id: string;
  slug: string;
  name: string;
  createdAt: string;
}

/** A token pair: the access token is a short-lived JWT, the refresh token rotates on use. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** `POST /auth/register`: a new workspace slug creates it; `inviteCode` joins an existing one. */
export interface RegisterInput {
  workspace: string;
  handle: string;
  password: string;
  displayName?: string;
  inviteCode?: string;
}

/** The answer of register, login and refresh. */
export interface AuthResult extends Tokens {
  user: User;
  workspace: Workspace;
}

export type MemberType = 'user' | 'agent';

/** A member of a conversation, with their read cursor. */
export interface Member {
  type: MemberType;
  id: string;
  handle: string;
  displayName: string;
  role: 'owner' | 'member';
  lastReadSeq: number;
  joinedAt: string;
}

/** A direct (two members) or group conversation; `lastSeq` is its newest message's seq. */
export interface Conversation {
  id: string;
  workspaceId: string;
  kind: 'direct' | 'group';
  title: string | null;
  createdBy: string;
  lastSeq: number;
  lastActivityAt: string;
  createdAt: string;
  members: Member[];
}

/** An inbox row: the conversation with the caller's unread count and its last message. */
export interface InboxEntry extends Conversation {
  unreadCount: number;
  lastMessage: Message | null;
}

export type MessageStatus = 'complete' | 'streaming' | 'failed' | 'cancelled' | 'interrupted';

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  model?: string;
  latencyMs?: number;
}

/** A message (SPEC §3). An agent's starts `streaming` and always ends in a final status. */
export interface Message {
  id: string;
  conversationId: string;
  /** 1, 2, 3 … per conversation, no gaps. */
  seq: number;
  threadRootId: string | null;
  sender: { type: MemberType; id: string; handle: string };
  onBehalfOf: string | null;
  content: string;
  parts: unknown[];
  status: MessageStatus;
  error: string | null;
  usage: Usage | null;
  runId: string | null;
  clientMsgId: string | null;
  createdAt: string;
  editedAt: string | null;
  /** Messaging fields (absent from servers before them). A tombstone has `deletedAt`, content ''. */
  deletedAt?: string | null;
  updatedSeq?: number;
  replyCount?: number;
  lastReplyAt?: string | null;
  reactions?: Array<{ emoji: string; count: number; userIds: string[] }>;
  forwardedFrom?: { messageId: string | null; conversationId: string | null; senderHandle: string | null } | null;
}

/** A message part for an uploaded file (`parts` entries with `type: 'attachment'`). URLs are server-relative. */
export interface AttachmentPart {
  type: 'attachment';
  attachmentId: string;
  name: string;
  contentType: string;
  sizeBytes: number;
  url: string;
  thumbnailUrl?: string;
}

/** An agent's tool call and its result, one part updated in place (docs/agents.md). */
export interface ToolCallPart {
  type: 'tool-call';
  toolCallId: string;
  name: string;
  ref: string | null;
  args: Record<string, unknown>;
  state: 'running' | 'done' | 'error' | 'awaiting-approval' | 'denied';
  result?: { text: string; isError: boolean };
  error?: string;
}

/** A paused run's request to one member: approve a tool call, or answer a question in the thread. */
export interface HumanRequestPart {
  type: 'human-request';
  requestId: string;
  runId: string;
  kind: 'approval' | 'question';
  addressedTo: string;
  toolName?: string;
  args?: Record<string, unknown>;
  argsHash?: string;
  question?: string;
  status: 'pending' | 'approved' | 'denied' | 'answered' | 'expired' | 'cancelled';
  expiresAt: string;
}

/** A message part citing a knowledge-base chunk an agent's reply drew on (`[index]` in its text). */
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

/** An agent of the workspace; other fields (temperature, tools, …) pass through. */
export interface Agent {
  id: string;
  handle: string;
  displayName: string;
  /** null: the server's CHORUS_DEFAULT_MODEL. */
  model: string | null;
  systemPrompt: string;
  [field: string]: unknown;
}

/** What creating an agent needs; the server fills the rest with defaults. */
export interface NewAgent {
  handle: string;
  displayName: string;
  /** Omitted: the server's default model. */
  model?: string;
  systemPrompt?: string;
  /** Knowledge bases the agent retrieves from. */
  knowledgeBaseIds?: string[];
}

/** A knowledge base of the workspace. */
export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  createdBy: string;
  createdAt: string;
}

/** A document of a knowledge base with its ingestion status (`progress` 0–1). */
export interface KnowledgeDocument {
  id: string;
  knowledgeBaseId: string;
  title: string;
  sourceUrl: string | null;
  contentType: string | null;
  status: 'queued' | 'processing' | 'ready' | 'failed';
  error: string | null;
  progress: number;
  chunkCount: number;
  createdAt: string;
}

/** A model the server can run, named `provider/model`. */
export interface ModelInfo {
  id: string;
  /** CHORUS_DEFAULT_MODEL: what an agent without a model uses. */
  isDefault?: boolean;
}

/** A person's agent attached to a conversation for them only (seen only by that person). */
export interface Binding {
  id: string;
  conversationId: string;
  userId: string;
  agentId: string;
  /** `autoreply`: answers for them, marked onBehalfOf; `advice`: suggests privately. */
  mode: 'autoreply' | 'advice';
  enabled: boolean;
  onlyWhenAway: boolean;
  delaySeconds: number;
  instructions: string;
  /** Runs per UTC day; null for no limit. */
  dailyMessageBudget: number | null;
  usedToday: number;
  createdAt: string;
  updatedAt: string;
}

/** The options of a binding that can be changed. */
export type BindingOptions = Partial<
  Pick<Binding, 'enabled' | 'onlyWhenAway' | 'delaySeconds' | 'instructions' | 'dailyMessageBudget'>
>;

/** Private advice for its owner: a suggestion to send, edit or dismiss, or a notice (e.g. budget spent). */
export interface Advice {
  id: string;
  conversationId: string;
  userId: string;
  agentId: string | null;
  bindingId: string | null;
  runId: string | null;
  triggerMessageId: string | null;
  kind: 'suggestion' | 'notice';
  content: string;
  status: 'streaming' | 'ready' | 'failed' | 'cancelled' | 'interrupted' | 'sent' | 'dismissed';
  error: string | null;
  sentMessageId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The kill switch of a user's bindings. */
export interface BindingPause {
  userId: string;
  paused: boolean;
  pausedBy: string | null;
  pausedAt: string | null;
}

/** A list answer: `nextCursor` fetches the next page, null at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A page of history, ascending by seq. `hasMore`: more exist in the direction of travel. */
export interface MessagePage {
  items: Message[];
  hasMore: boolean;
}

/** Frames the server sends (SPEC §5 plus Chorus's conversation.joined / conversation.left). */
export type ServerFrame =
  | { type: 'ack'; id: string; [field: string]: unknown }
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'message'; message: Message }
  /** `offset`: where `delta` starts in the message's content (absent from servers before it was added). */
  | {
      type: 'message.delta';
      conversationId: string;
      messageId: string;
      delta: string;
      offset?: number;
      partIndex?: number;
      part?: unknown;
    }
  | { type: 'message.done'; message: Message }
  | { type: 'message.updated'; message: Message }
  | { type: 'typing'; conversationId: string; userId: string }
  | { type: 'presence'; userId: string; status: string }
  | { type: 'read'; conversationId: string; memberId: string; seq: number }
  | { type: 'run.step'; runId: string; conversationId: string; step: unknown }
  | { type: 'advice'; conversationId: string; advice: Advice }
  | { type: 'advice.delta'; conversationId: string; adviceId: string; delta: string; offset?: number }
  | { type: 'advice.done'; conversationId: string; advice: Advice }
  | { type: 'advice.updated'; conversationId: string; advice: Advice }
  | { type: 'conversation.joined'; conversation: Conversation }
  | { type: 'conversation.left'; conversationId: string }
  | { type: 'pong'; id?: string };

/** Server frames other than replies (ack, error, pong): the events a UI reacts to. */
export type ServerEvent = Exclude<ServerFrame, { type: 'ack' } | { type: 'error' } | { type: 'pong' }>;

/** Frames a client sends; each may carry `id`, answered by `ack {id,…}` or `error {id,…}`. */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'send'; conversationId: string; clientMsgId: string; content: string; threadRootId?: string }
  | { type: 'sync'; conversationId: string; afterSeq: number; limit?: number; updatedAfter?: number }
  | { type: 'typing'; conversationId: string }
  | { type: 'read'; conversationId: string; seq: number }
  | { type: 'cancel'; runId: string }
  | { type: 'ping' };
