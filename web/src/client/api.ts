import { ChorusError } from './errors.ts';
import { HttpClient, type HttpClientOptions } from './http-client.ts';
import type {
  Advice,
  Agent,
  AgentInput,
  ApiKey,
  Binding,
  BindingOptions,
  BindingPause,
  AttachmentPart,
  AuthResult,
  Conversation,
  InboxEntry,
  Job,
  KnowledgeBase,
  KnowledgeChunk,
  KnowledgeDocument,
  McpServer,
  McpServerInput,
  McpTool,
  Memory,
  Message,
  MessagePage,
  ModelInfo,
  NewAgent,
  Page,
  RegisterInput,
  Run,
  Schedule,
  SearchHit,
  User,
  Workspace,
} from './types.ts';

/**
 * Typed calls for the public HTTP API (SPEC §4). Every method throws ChorusError with the
 * server's code (`invalid_request`, `unauthorized`, `not_found`, …) or `network`.
 * Register and login store the returned tokens; logout forgets them.
 */
export class ChorusApi {
  readonly http: HttpClient;
  readonly #baseUrl: string;

  constructor(options: HttpClientOptions) {
    this.http = new HttpClient(options);
    this.#baseUrl = options.baseUrl;
  }

  get isSignedIn(): boolean {
    return this.http.tokens.get() !== null;
  }

  /** Creates the workspace (caller becomes owner) or, with `inviteCode`, joins it. */
  async register(input: RegisterInput): Promise<AuthResult> {
    const result = await this.http.request<AuthResult>('POST', '/auth/register', { body: input, auth: false });
    this.http.tokens.set(result);
    return result;
  }

  async login(input: { workspace: string; handle: string; password: string }): Promise<AuthResult> {
    const result = await this.http.request<AuthResult>('POST', '/auth/login', { body: input, auth: false });
    this.http.tokens.set(result);
    return result;
  }

  /** Revokes the refresh token on the server (best effort) and forgets the pair locally. */
  async logout(): Promise<void> {
    const tokens = this.http.tokens.get();
    this.http.tokens.set(null);
    if (tokens)
      await this.http
        .request('POST', '/auth/logout', { body: { refreshToken: tokens.refreshToken }, auth: false })
        .catch(() => undefined);
  }

  me(): Promise<{ user: User; workspace: Workspace }> {
    return this.http.request('GET', '/me');
  }

  /** An invite code for the caller's workspace (owners and admins). */
  createInvite(input: { role?: 'admin' | 'member'; maxUses?: number } = {}): Promise<{ code: string; [field: string]: unknown }> {
    return this.http.request('POST', '/invites', { body: input });
  }

  /** My API keys (bots and scripts acting as me), without their secrets. */
  listApiKeys(): Promise<Page<ApiKey>> {
    return this.http.request('GET', '/api-keys');
  }

  /** Creates an API key acting as me; `key` is in this answer only (send it as `Authorization: Bearer`). */
  createApiKey(name: string): Promise<Omit<ApiKey, 'lastUsedAt'> & { key: string }> {
    return this.http.request('POST', '/api-keys', { body: { name } });
  }

  revokeApiKey(keyId: string): Promise<void> {
    return this.http.request('DELETE', `/api-keys/${encodeURIComponent(keyId)}`);
  }

  listUsers(): Promise<Page<User>> {
    return this.http.request('GET', '/users');
  }

  listAgents(): Promise<Page<Agent>> {
    return this.http.request('GET', '/agents');
  }

  createAgent(input: NewAgent): Promise<Agent> {
    return this.http.request('POST', '/agents', { body: input });
  }
  /** Throws forbidden unless you own the agent or are an admin; invalid_request with the field at fault. */
  updateAgent(agentId: string, input: AgentInput): Promise<Agent> {
    return this.http.request('PATCH', `/agents/${encodeURIComponent(agentId)}`, { body: input });
  }

  /** Throws forbidden unless you own the agent or are an admin. */
  deleteAgent(agentId: string): Promise<void> {
    return this.http.request('DELETE', `/agents/${encodeURIComponent(agentId)}`);
  }

  /** The MCP servers the workspace's agents can use (config-file ones read-only). */
  listMcpServers(): Promise<Page<McpServer>> {
    return this.http.request('GET', '/mcp-servers');
  }

  /** Adds an HTTP MCP server (owners and admins); header values are stored encrypted and never returned. */
  createMcpServer(input: McpServerInput & { name: string; url: string }): Promise<McpServer> {
    return this.http.request('POST', '/mcp-servers', { body: input });
  }

  updateMcpServer(serverId: string, input: McpServerInput): Promise<McpServer> {
    return this.http.request('PATCH', `/mcp-servers/${encodeURIComponent(serverId)}`, { body: input });
  }

  deleteMcpServer(serverId: string): Promise<void> {
    return this.http.request('DELETE', `/mcp-servers/${encodeURIComponent(serverId)}`);
  }

  /** A server's tool catalogue (cached; `refresh` lists again). Throws provider_error when the server is down. */
  async listMcpTools(serverId: string, options: { refresh?: boolean } = {}): Promise<McpTool[]> {
    const page = await this.http.request<{ items: McpTool[] }>('GET', `/mcp-servers/${encodeURIComponent(serverId)}/tools`, {
      query: options.refresh ? { refresh: 'true' } : {},
    });
    return page.items;
  }

  listKnowledgeBases(): Promise<Page<KnowledgeBase>> {
    return this.http.request('GET', '/knowledge-bases');
  }

  createKnowledgeBase(input: { name: string; description?: string }): Promise<KnowledgeBase> {
    return this.http.request('POST', '/knowledge-bases', { body: input });
  }

  listDocuments(knowledgeBaseId: string): Promise<Page<KnowledgeDocument>> {
    return this.http.request('GET', `/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}/documents`);
  }

  /** Uploads a document (text, Markdown, HTML, PDF); it starts `queued` and is ingested in the background. */
  async uploadDocument(knowledgeBaseId: string, file: File): Promise<KnowledgeDocument> {
    const form = new FormData();
    form.append('file', file, file.name);
    const response = await this.#authorizedFetch(`/api/v1/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}/documents`, {
      method: 'POST',
      body: form,
    });
    return (await response.json()) as KnowledgeDocument;
  }

  /** Adds a web page or file by its address; fetched and ingested in the background (private addresses are refused). */
  addUrlDocument(knowledgeBaseId: string, input: { url: string; title?: string }): Promise<KnowledgeDocument> {
    return this.http.request('POST', `/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}/documents`, { body: input });
  }

  /** Deletes a document and its chunks (its uploader or an admin). */
  deleteDocument(knowledgeBaseId: string, documentId: string): Promise<void> {
    return this.http.request(
      'DELETE',
      `/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}/documents/${encodeURIComponent(documentId)}`,
    );
  }

  /** Deletes a knowledge base and its documents (its creator or an admin). */
  deleteKnowledgeBase(knowledgeBaseId: string): Promise<void> {
    return this.http.request('DELETE', `/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}`);
  }

  /** The passages an agent's `rag` step would retrieve for `query`, best first. */
  async searchKnowledgeBase(knowledgeBaseId: string, query: string, limit = 5): Promise<KnowledgeChunk[]> {
    const page = await this.http.request<{ items: KnowledgeChunk[] }>(
      'POST',
      `/knowledge-bases/${encodeURIComponent(knowledgeBaseId)}/search`,
      { body: { query, limit } },
    );
    return page.items;
  }

  /** Models agents can be given (`provider/model`): the default first, then the fallback and those in use. */
  async listModels(): Promise<ModelInfo[]> {
    return (await this.http.request<Page<ModelInfo>>('GET', '/models')).items;
  }

  /** The inbox, newest activity first. */
  listInbox(query: { limit?: number; cursor?: string } = {}): Promise<Page<InboxEntry>> {
    return this.http.request('GET', '/conversations', { query });
  }

  getConversation(conversationId: string): Promise<Conversation> {
    return this.http.request('GET', `/conversations/${encodeURIComponent(conversationId)}`);
  }

  /** A direct conversation is unique per pair: creating it again returns the existing one. */
  createConversation(input: {
    kind: 'direct' | 'group';
    title?: string;
    members: Array<{ type: 'user' | 'agent'; id: string }>;
  }): Promise<Conversation> {
    return this.http.request('POST', '/conversations', { body: input });
  }

  /** History ascending by seq: after `afterSeq`, before `beforeSeq`, or the latest `limit`. */
  /** Renames a group (any member); null clears the title. Members get `conversation.updated`. */
  renameConversation(conversationId: string, title: string | null): Promise<Conversation> {
    return this.http.request('PATCH', `/conversations/${encodeURIComponent(conversationId)}`, { body: { title } });
  }

  /** Adds people or agents to a group (any member may); answers the conversation with its members. */
  addMembers(conversationId: string, members: Array<{ type: 'user' | 'agent'; id: string }>): Promise<Conversation> {
    return this.http.request('POST', `/conversations/${encodeURIComponent(conversationId)}/members`, { body: { members } });
  }

  /** Removes a member of a group: yourself (leaving), or anyone as its owner or a workspace admin. */
  removeMember(conversationId: string, memberId: string): Promise<void> {
    return this.http.request(
      'DELETE',
      `/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(memberId)}`,
    );
  }

  listMessages(
    conversationId: string,
    query: { afterSeq?: number; beforeSeq?: number; limit?: number } = {},
  ): Promise<MessagePage> {
    return this.http.request('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, { query });
  }

  /** Idempotent per `clientMsgId`: a repeat returns the first message. */
  postMessage(
    conversationId: string,
    input: { content: string; clientMsgId?: string; threadRootId?: string; attachmentIds?: string[] },
  ): Promise<Message> {
    return this.http.request('POST', `/conversations/${encodeURIComponent(conversationId)}/messages`, { body: input });
  }

  /** The sender replaces the content; the change also arrives live as `message.updated`. */
  editMessage(messageId: string, content: string): Promise<Message> {
    return this.http.request('PATCH', `/messages/${encodeURIComponent(messageId)}`, { body: { content } });
  }

  /** Turns the message into a tombstone (sender or workspace admin). */
  deleteMessage(messageId: string): Promise<Message> {
    return this.http.request('DELETE', `/messages/${encodeURIComponent(messageId)}`);
  }

  /** Copies a message into another conversation you are a member of. */
  forwardMessage(messageId: string, conversationId: string): Promise<Message> {
    return this.http.request('POST', `/messages/${encodeURIComponent(messageId)}/forward`, { body: { conversationId } });
  }

  /** Uploads a file to a conversation (multipart); send it with `attachmentIds`. */
  async uploadAttachment(conversationId: string, file: File): Promise<AttachmentPart> {
    const form = new FormData();
    form.append('file', file, file.name);
    const response = await this.#authorizedFetch(`/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments`, {
      method: 'POST',
      body: form,
    });
    return (await response.json()) as AttachmentPart;
  }

  /** The bytes of an attachment URL from a message part (they need the bearer header, so no plain <img src>). */
  async fetchAttachment(url: string): Promise<Blob> {
    return (await this.#authorizedFetch(url, {})).blob();
  }

  /** `fetch` with the access token; a 401 refreshes it once and retries. Throws ChorusError. */
  async #authorizedFetch(path: string, init: RequestInit): Promise<Response> {
    const send = (token: string | undefined) =>
      fetch(`${this.#baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token ?? ''}` } });
    const token = this.http.tokens.get()?.accessToken;
    let response = await send(token);
    if (response.status === 401 && token) response = await send((await this.http.refreshTokens(token)).accessToken);
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      throw new ChorusError(body?.error?.code ?? 'internal', body?.error?.message ?? `HTTP ${response.status}`, {
        status: response.status,
      });
    }
    return response;
  }

  /** A thread: its root and a page of replies ascending by seq. */
  listThread(
    rootId: string,
    query: { afterSeq?: number; limit?: number } = {},
  ): Promise<{ root: Message; items: Message[]; hasMore: boolean }> {
    return this.http.request('GET', `/messages/${encodeURIComponent(rootId)}/thread`, { query });
  }

  /** Adds (`on`) or removes your reaction. */
  react(messageId: string, emoji: string, on: boolean): Promise<Message> {
    return this.http.request(
      on ? 'PUT' : 'DELETE',
      `/messages/${encodeURIComponent(messageId)}/reactions/${encodeURIComponent(emoji)}`,
    );
  }

  markRead(conversationId: string, seq: number): Promise<{ conversationId: string; lastReadSeq: number }> {
    return this.http.request('POST', `/conversations/${encodeURIComponent(conversationId)}/read`, { body: { seq } });
  }

  /** A run with its steps (members of its conversation only). */
  getRun(runId: string): Promise<Run> {
    return this.http.request('GET', `/runs/${encodeURIComponent(runId)}`);
  }

  cancelRun(runId: string): Promise<unknown> {
    return this.http.request('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
  }

  /** Your own bindings in a conversation (nobody else's are visible). */
  listBindings(conversationId: string): Promise<Page<Binding>> {
    return this.http.request('GET', `/conversations/${encodeURIComponent(conversationId)}/bindings`);
  }

  /** Throws conflict when you already have a binding of that mode here. */
  createBinding(conversationId: string, input: BindingOptions & { agentId: string; mode: Binding['mode'] }): Promise<Binding> {
    return this.http.request('POST', `/conversations/${encodeURIComponent(conversationId)}/bindings`, { body: input });
  }

  updateBinding(conversationId: string, bindingId: string, input: BindingOptions): Promise<Binding> {
    return this.http.request(
      'PATCH',
      `/conversations/${encodeURIComponent(conversationId)}/bindings/${encodeURIComponent(bindingId)}`,
      { body: input },
    );
  }

  deleteBinding(conversationId: string, bindingId: string): Promise<void> {
    return this.http.request(
      'DELETE',
      `/conversations/${encodeURIComponent(conversationId)}/bindings/${encodeURIComponent(bindingId)}`,
    );
  }

  /** Your advice still waiting in a conversation. */
  listAdvice(conversationId: string): Promise<Page<Advice>> {
    return this.http.request('GET', `/conversations/${encodeURIComponent(conversationId)}/advice`);
  }

  /** Asks for advice now; it arrives as `advice` frames. */
  requestAdvice(conversationId: string, agentId?: string): Promise<{ runId: string; agentId: string }> {
    return this.http.request('POST', `/conversations/${encodeURIComponent(conversationId)}/advice`, {
      body: agentId ? { agentId } : {},
    });
  }

  /** Posts the suggestion as your own message (`content` replaces it when given). */
  sendAdvice(conversationId: string, adviceId: string, content?: string): Promise<{ advice: Advice; message: Message }> {
    return this.http.request(
      'POST',
      `/conversations/${encodeURIComponent(conversationId)}/advice/${encodeURIComponent(adviceId)}/send`,
      { body: content === undefined ? {} : { content } },
    );
  }

  dismissAdvice(conversationId: string, adviceId: string): Promise<Advice> {
    return this.http.request(
      'POST',
      `/conversations/${encodeURIComponent(conversationId)}/advice/${encodeURIComponent(adviceId)}/dismiss`,
    );
  }

  /** The kill switch of a user's bindings (yourself, or anyone as an admin). */
  getBindingsPause(userId: string): Promise<BindingPause> {
    return this.http.request('GET', `/users/${encodeURIComponent(userId)}/bindings/pause`);
  }

  setBindingsPaused(userId: string, paused: boolean): Promise<BindingPause> {
    return this.http.request('POST', `/users/${encodeURIComponent(userId)}/bindings/${paused ? 'pause' : 'resume'}`);
  }

  /**
   * Full-text search over the messages of my conversations, best match first. `q` is web-search
   * syntax (`"exact phrase"`, `-word`, `or`). Throws invalid_request for a query without searchable words.
   */
  searchMessages(query: { q: string; conversationId?: string; cursor?: string; limit?: number }): Promise<Page<SearchHit>> {
    return this.http.request('GET', '/search', { query });
  }

  /** The workspace's background jobs, newest first (owners and admins; forbidden otherwise). */
  listJobs(query: { state?: Job['state']; limit?: number } = {}): Promise<Page<Job>> {
    return this.http.request('GET', '/jobs', { query });
  }

  /** My schedules (an admin: the workspace's), newest first. */
  listSchedules(): Promise<Page<Schedule>> {
    return this.http.request('GET', '/schedules');
  }

  /** Throws invalid_request for a bad cron expression or time zone, or an agent not in the conversation. */
  createSchedule(input: {
    agentId: string;
    conversationId: string;
    cron: string;
    timezone?: string;
    prompt: string;
  }): Promise<Schedule> {
    return this.http.request('POST', '/schedules', { body: input });
  }

  /** Resuming skips the occurrences missed while paused. */
  setSchedulePaused(scheduleId: string, paused: boolean): Promise<Schedule> {
    return this.http.request('PATCH', `/schedules/${encodeURIComponent(scheduleId)}`, { body: { paused } });
  }

  deleteSchedule(scheduleId: string): Promise<void> {
    return this.http.request('DELETE', `/schedules/${encodeURIComponent(scheduleId)}`);
  }

  /** What agents remember about me (newest first), optionally of one agent. */
  listMemories(agentId?: string): Promise<Page<Memory>> {
    return this.http.request('GET', '/memories', { query: { agentId } });
  }

  forgetMemory(memoryId: string): Promise<void> {
    return this.http.request('DELETE', `/memories/${encodeURIComponent(memoryId)}`);
  }

  /** Approves or denies a tool call a paused run waits for; `argsHash` binds the answer to the arguments shown. */
  answerApproval(runId: string, requestId: string, decision: 'approve' | 'deny', argsHash?: string): Promise<unknown> {
    return this.http.request('POST', `/runs/${encodeURIComponent(runId)}/approvals/${encodeURIComponent(requestId)}`, {
      body: { decision, ...(argsHash ? { argsHash } : {}) },
    });
  }
}
