/**
 * Wire shapes of the Chorus public API (SPEC §3–§5). Timestamps are ISO 8601 strings. The shapes
 * of messages, conversations, users, knowledge bases, bindings and advice are the server's own
 * (src/wire: shared, dependency-free; docs/decisions/0019), named here as the client calls them,
 * so a field the server adds or changes there is a type error here until the client handles it.
 */
import type { PublicAgent } from '../../../src/wire/agent.ts';
import type { PublicAdvice, PublicBinding, BindingPauseState } from '../../../src/wire/binding.ts';
import type { PublicConversation, PublicMember } from '../../../src/wire/conversation.ts';
import type { PublicDocument, PublicKnowledgeBase, RetrievedChunk } from '../../../src/wire/knowledge.ts';
import type { PublicMcpServer } from '../../../src/wire/mcp.ts';
import type { PublicMemory } from '../../../src/wire/memory.ts';
import type { PublicSchedule } from '../../../src/wire/schedule.ts';
import type { JobInfo } from '../../../src/wire/job.ts';
import type { PublicRun } from '../../../src/wire/run.ts';
import type { SearchHit as WireSearchHit } from '../../../src/wire/search.ts';
import type { HumanRequestPart, MessagePart, MessageUsage, PublicMessage } from '../../../src/wire/message.ts';
import type { PublicUser, PublicWorkspace } from '../../../src/wire/user.ts';

export type {
  AttachmentPart,
  CitationPart,
  HumanRequestPart,
  MessagePart,
  MessageStatus,
  ToolCallPart,
} from '../../../src/wire/message.ts';
export type { BindingOptions } from '../../../src/wire/binding.ts';
export type { InboxEntry } from '../../../src/wire/conversation.ts';

/** A message in its full shape (SPEC §3); a compact frame's is filled in by `normalizeMessage`. */
export type Message = PublicMessage;
/** Token usage and timing of an agent's message. */
export type Usage = MessageUsage;
/** A person's agent attached to a conversation for them only (seen only by that person). */
export type Binding = PublicBinding;
/** Private advice for its owner: a suggestion to send, edit or dismiss, or a notice (e.g. budget spent). */
export type Advice = PublicAdvice;
/** The kill switch of a user's bindings. */
export type BindingPause = BindingPauseState;
/** A person in a workspace (never their password). */
export type User = PublicUser;
export type Role = User['role'];
export type Workspace = PublicWorkspace;
/** A member of a conversation, with their read cursor. */
export type Member = PublicMember;
export type MemberType = Member['type'];
/** A direct (two members) or group conversation; `lastSeq` is its newest message's seq. */
export type Conversation = PublicConversation;
/** A knowledge base of the workspace. */
export type KnowledgeBase = PublicKnowledgeBase;
/** A document of a knowledge base with its ingestion status (`progress` 0–1). */
export type KnowledgeDocument = PublicDocument;
/** A passage of a knowledge base matching a search, best first (`score`: higher is better). */
export type KnowledgeChunk = RetrievedChunk;

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

/** An agent of the workspace with its settings (model, prompt, tools, knowledge, memory, chain). */
export type Agent = PublicAgent;

/**
 * What creating (`handle` and `displayName` required) or changing an agent sends; an absent field
 * keeps its value (or the server's default on create), null restores the default.
 */
export type AgentInput = Partial<
  Pick<
    PublicAgent,
    | 'handle'
    | 'displayName'
    | 'model'
    | 'systemPrompt'
    | 'temperature'
    | 'maxOutputTokens'
    | 'tools'
    | 'toolApprovals'
    | 'knowledgeBaseIds'
    | 'memoryEnabled'
    | 'chain'
    | 'budgets'
  >
>;

/** What creating an agent needs; the server fills the rest with defaults. */
export type NewAgent = AgentInput & { handle: string; displayName: string };

/** An MCP server the workspace's agents can use tools of (header values are never returned). */
export type McpServer = PublicMcpServer;
export type { McpServerInput, McpTool } from '../../../src/wire/mcp.ts';

/** An agent run posted into a conversation at each occurrence of a cron expression. */
export type Schedule = PublicSchedule;
/** A fact an agent remembers about me; only I see it, and I may delete it. */
export type Memory = PublicMemory;

/** An agent run: its status, usage and the action chain's steps with their input, output and timing. */
export type Run = PublicRun;
export type { RunStep } from '../../../src/wire/run.ts';

/** One of my API keys, without its secret (`prefix` is its first characters, to tell keys apart). */
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A background job of the workspace (ingestion, scheduled runs, agent runs): owners and admins see them. */
export type Job = JobInfo;

/** A message matching a search, with an excerpt whose matched words are `highlighted`. */
export type SearchHit = WireSearchHit;

/** A model the server can run, named `provider/model`. */
export interface ModelInfo {
  id: string;
  /** CHORUS_DEFAULT_MODEL: what an agent without a model uses. */
  isDefault?: boolean;
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

/** Frames the server sends on the WebSocket (SPEC §5 plus Chorus's additions; docs/protocol.md). */
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
      part?: MessagePart;
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
  /** A paused run asks `request.addressedTo`; the same part is in message `messageId`'s parts. */
  | { type: 'human.request'; conversationId: string; runId: string; messageId: string; request: HumanRequestPart }
  /** To a document's uploader, each time its ingestion state changes. */
  | { type: 'document.status'; document: KnowledgeDocument }
  | { type: 'conversation.joined'; conversation: Conversation }
  /** The conversation's members changed (someone was added, removed or left): its new member list. */
  | { type: 'conversation.updated'; conversationId: string; conversation: Conversation }
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
