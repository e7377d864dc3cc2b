/**
 * The Chorus client: typed HTTP calls (ChorusApi), one self-healing WebSocket (RealtimeClient),
 * the offline outbox and the sync helper. No UI and no framework: any front end can use it.
 */
export { ChorusApi } from './api.ts';
export { backoffDelayMs, type BackoffOptions } from './backoff.ts';
export { ChorusError } from './errors.ts';
export type { HttpClientOptions } from './http-client.ts';
export { Outbox, type OutgoingMessage } from './outbox.ts';
export { RealtimeClient, type ConnectionStatus, type RealtimeClientOptions } from './realtime-client.ts';
export { ConversationSyncer, realtimeUrl, syncConversation } from './sync.ts';
export { applyDeltas, type PositionedDelta } from './stream-text.ts';
export { normalizeFrame, normalizeMessage } from './wire.ts';
export { memoryTokenStore, webStorageTokenStore, type TokenStore } from './token-store.ts';
export type {
  Advice,
  Agent,
  AgentInput,
  ApiKey,
  AttachmentPart,
  HumanRequestPart,
  ToolCallPart,
  CitationPart,
  AuthResult,
  Binding,
  BindingOptions,
  BindingPause,
  ClientFrame,
  Conversation,
  InboxEntry,
  Job,
  KnowledgeBase,
  KnowledgeChunk,
  KnowledgeDocument,
  McpServer,
  McpServerInput,
  McpTool,
  Member,
  Memory,
  MemberType,
  Message,
  MessagePart,
  MessagePage,
  MessageStatus,
  ModelInfo,
  NewAgent,
  Page,
  RegisterInput,
  Role,
  Run,
  RunStep,
  Schedule,
  SearchHit,
  ServerEvent,
  ServerFrame,
  Tokens,
  Usage,
  User,
  Workspace,
} from './types.ts';
