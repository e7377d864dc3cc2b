import {
  ChorusApi,
  ChorusError,
  ConversationSyncer,
  Outbox,
  RealtimeClient,
  realtimeUrl,
  webStorageTokenStore,
  type AuthResult,
  type Conversation,
  type InboxEntry,
  type Message,
  type RegisterInput,
  type ServerEvent,
  type User,
  type Workspace,
} from '../client/index.ts';
import {
  forgetConversation,
  initialState,
  receiveDelta,
  receivePart,
  receiveFinal,
  receiveUpdated,
  receiveMessage,
  type ChatState,
} from './chat-state.ts';
import { AdviceActions } from './advice-actions.ts';
import { CatchUp, catchUpStream } from './catch-up.ts';
import { applyRead, entryFromConversation, sortInbox } from './inbox.ts';
import { hasDeltaGap, resumeSeq } from './message-log.ts';
import { readProfile, writeProfile } from './profile-cache.ts';
import type { StoreAccess } from './store-access.ts';
import { HistoryPages } from './history-pages.ts';
import { Typing } from './typing.ts';

/**
 * The web client's state and the actions on it, built on the reusable client (web/src/client).
 * Keeps the inbox and the open conversations live: applies server events, syncs every loaded
 * conversation from its last contiguous seq after each (re)connect, then flushes the outbox, so
 * after any drop each message is shown exactly once and in order.
 */
export class ChatStore {
  readonly api: ChorusApi;
  readonly realtime: RealtimeClient;
  /** My private advice: load, send, dismiss, request (web/src/state/advice-actions.ts). */
  readonly advice: AdviceActions;
  #state: ChatState = initialState;
  #listeners = new Set<() => void>();
  #storage: Storage;
  #outbox: Outbox | null = null;
  /** Streaming replies and suggestions being loaded again to fill a delta gap. */
  readonly #catchUp = new CatchUp();
  readonly #syncer: ConversationSyncer;
  /** The store's state accessors, for the parts of it that live in other modules. */
  readonly #access: StoreAccess;
  readonly #typing: Typing;
  readonly #pages: HistoryPages;

  constructor(options: { origin: string; storage: Storage }) {
    this.#storage = options.storage;
    const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
    this.api = new ChorusApi({
      baseUrl: options.origin,
      tokens: webStorageTokenStore(options.storage),
      onSignedOut: () => this.#expired(),
      // Tabs share the tokens in localStorage: one refresh at a time across all of them.
      lock: locks ? <T>(run: () => Promise<T>) => locks.request('chorus.tokens', run) as Promise<T> : undefined,
    });
    this.realtime = new RealtimeClient({
      url: realtimeUrl(options.origin),
      getToken: async (rejected) => (rejected ? (await this.api.http.refreshTokens(rejected)).accessToken : this.#accessToken()),
      onUnauthorized: () => this.#expired(),
    });
    this.realtime.onStatus((connection) => this.#set({ connection }));
    this.realtime.onEvent((event) => this.#onEvent(event));
    this.realtime.onOpen(() => void this.#resync());
    this.#syncer = new ConversationSyncer({
      realtime: this.realtime,
      positionOf: (conversationId) => {
        const log = this.#state.logs[conversationId];
        return log ? resumeSeq(log) : undefined;
      },
      onGone: (conversationId) => this.#replace(forgetConversation(this.#state, conversationId)),
    });
    this.#access = {
      api: this.api,
      getState: this.getState,
      replace: (state) => this.#replace(state),
      set: (patch) => this.#set(patch),
      fail: (error) => this.#fail(error),
    };
    this.#typing = new Typing(this.#access, this.realtime);
    this.#pages = new HistoryPages(this.#access, this.#syncer, () => this.realtime.status === 'open');
    this.advice = new AdviceActions(this.#access, { catchUp: this.#catchUp, onMessage: (message) => this.#onMessage(message) });
  }

  get state(): ChatState {
    return this.#state;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getState = (): ChatState => this.#state;

  /** Restores a stored session (signed in at once from the cached profile, verified in the background). */
  async boot(): Promise<void> {
    const cached = readProfile(this.#storage);
    if (!this.api.isSignedIn) return this.#set({ session: 'signed-out' });
    if (cached) this.#startSession(cached.user, cached.workspace);
    try {
      const { user, workspace } = await this.api.me();
      if (!cached) this.#startSession(user, workspace);
      else this.#set({ me: user, workspace });
      writeProfile(this.#storage, { user, workspace });
    } catch (error) {
      if (!cached)
        this.#set({
          session: 'signed-out',
          notice: ChorusError.isInstance(error) && error.code !== 'unauthorized' ? error.message : null,
        });
    }
  }

  async signIn(input: { workspace: string; handle: string; password: string }): Promise<void> {
    this.#signedIn(await this.api.login(input));
  }

  async register(input: RegisterInput): Promise<void> {
    this.#signedIn(await this.api.register(input));
  }

  async signOut(): Promise<void> {
    this.realtime.stop();
    this.#outbox?.clear();
    this.#outbox = null;
    writeProfile(this.#storage, null);
    await this.api.logout();
    this.#state = { ...initialState, session: 'signed-out' };
    this.#emit();
  }

  dismissNotice(): void {
    this.#set({ notice: null });
  }

  /** Shows `text` in the notice bar until dismissed. */
  notify(text: string): void {
    this.#set({ notice: text });
  }

  /** Shows `conversationId` (null for none): loads its latest history once, then marks it read. */
  async openConversation(conversationId: string | null): Promise<void> {
    this.#set({ activeConversationId: conversationId });
    if (!conversationId) return;
    if (!this.#state.advice[conversationId]) void this.advice.load(conversationId);
    if (!this.#state.logs[conversationId] && !(await this.#pages.latest(conversationId))) return;
    this.markRead(conversationId);
  }

  /** Loads the page before the oldest message held of `conversationId`, when there is one. */
  loadOlder(conversationId: string): Promise<void> {
    return this.#pages.older(conversationId);
  }

  /** Loads older pages of `conversationId` until message `seq` is held (at most 20 pages); whether it is. */
  reachMessage(conversationId: string, seq: number): Promise<boolean> {
    return this.#pages.reach(conversationId, seq);
  }

  /** Moves my read cursor to the newest message of the conversation, when the page is visible. */
  markRead(conversationId: string): void {
    const entry = this.#state.inbox.find((candidate) => candidate.id === conversationId);
    const lastSeq = Math.max(entry?.lastSeq ?? 0, this.#state.logs[conversationId]?.items.at(-1)?.seq ?? 0);
    const mine = entry?.members.find((member) => member.id === this.#state.me?.id);
    if (!entry || !this.#isReading(conversationId) || lastSeq === 0) return;
    if (entry.unreadCount === 0 && (mine?.lastReadSeq ?? 0) >= lastSeq) return;
    this.#set({ inbox: applyRead(this.#state.inbox, conversationId, this.#state.me!.id, lastSeq, this.#state.me!.id) });
    const frame = { type: 'read' as const, conversationId, seq: lastSeq };
    if (this.realtime.status === 'open') this.realtime.request(frame).catch(() => undefined);
    else this.api.markRead(conversationId, lastSeq).catch(() => undefined);
  }

  /** Queues a message and sends it now when connected; offline it waits for the next connection. */
  send(conversationId: string, content: string): void {
    const outbox = this.#outbox;
    if (!outbox || !content.trim()) return;
    outbox.add({ conversationId, clientMsgId: crypto.randomUUID(), content, queuedAt: new Date().toISOString() });
    void this.#flush();
  }

  discardQueued(clientMsgId: string): void {
    this.#outbox?.remove(clientMsgId);
  }

  /** Tells the others I am typing, at most once per few seconds per conversation. */
  typing(conversationId: string): void {
    this.#typing.send(conversationId);
  }

  /** Stops an agent's streaming reply. */
  async stopRun(runId: string): Promise<void> {
    try {
      if (this.realtime.status === 'open') await this.realtime.request({ type: 'cancel', runId });
      else await this.api.cancelRun(runId);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Asks again: re-sends the person's message that the failed, cancelled or interrupted reply answered. */
  retry(message: Message): void {
    const log = this.#state.logs[message.conversationId];
    const trigger = log?.items.filter((candidate) => candidate.seq < message.seq && candidate.sender.type === 'user').at(-1);
    if (!trigger) return this.#set({ notice: 'Nothing to retry: the question is not loaded.' });
    this.send(message.conversationId, trigger.content);
  }

  /** Reloads the people and agents of the workspace (for pickers and @-mentions). */
  async loadDirectory(): Promise<void> {
    const [users, agents] = await Promise.all([
      this.api.listUsers().then(
        (page) => page.items,
        () => this.#state.users,
      ),
      this.api.listAgents().then(
        (page) => page.items,
        () => this.#state.agents,
      ),
    ]);
    this.#set({ users, agents });
  }

  /** Adds a conversation I just created or joined to the inbox (the server announces it too). */
  addConversation(conversation: InboxEntry | Parameters<typeof entryFromConversation>[0]): void {
    if (this.#state.inbox.some((entry) => entry.id === conversation.id)) return;
    const entry = 'unreadCount' in conversation ? conversation : entryFromConversation(conversation, this.#state.me?.id ?? '');
    this.#set({ inbox: sortInbox([...this.#state.inbox, entry]) });
  }

  /** Reads a conversation again and takes its members and title (after I removed someone: that call answers nothing). */
  async reloadConversation(conversationId: string): Promise<void> {
    this.takeConversation(await this.api.getConversation(conversationId));
  }

  /** Takes the members and title of a conversation in my inbox (one I am no longer in is left alone). */
  takeConversation(conversation: Conversation): void {
    this.#set({
      inbox: this.#state.inbox.map((entry) =>
        entry.id === conversation.id ? { ...entry, members: conversation.members, title: conversation.title } : entry,
      ),
    });
  }

  #signedIn(result: AuthResult): void {
    writeProfile(this.#storage, result);
    this.#startSession(result.user, result.workspace);
  }

  #startSession(me: User, workspace: Workspace): void {
    this.#outbox = new Outbox({ storage: this.#storage, key: `chorus.outbox.${me.id}` });
    this.#outbox.onChange(() => this.#set({ outbox: this.#outbox?.list() ?? [] }));
    this.#set({ session: 'signed-in', me, workspace, outbox: this.#outbox.list(), notice: null });
    void this.#refreshInbox();
    void this.loadDirectory();
    this.realtime.start();
  }

  async #refreshInbox(): Promise<void> {
    try {
      const page = await this.api.listInbox({ limit: 100 });
      const reading = this.#state.activeConversationId;
      const inbox = page.items.map((entry) =>
        entry.id === reading && this.#isReading(entry.id) ? { ...entry, unreadCount: 0 } : entry,
      );
      this.#set({ inbox: sortInbox(inbox), inboxLoaded: true });
      if (reading) this.markRead(reading);
    } catch (error) {
      if (!ChorusError.isInstance(error) || error.code !== 'unauthorized') this.#fail(error);
    }
  }

  /** After each (re)connect: fresh inbox, every loaded conversation synced from its last contiguous seq, then the outbox. */
  async #resync(): Promise<void> {
    await this.#refreshInbox();
    // A conversation opened while the server was unreachable loads now.
    const active = this.#state.activeConversationId;
    if (active && !this.#state.logs[active]) await this.openConversation(active);
    await Promise.all(Object.keys(this.#state.logs).map((conversationId) => this.#syncer.sync(conversationId)));
    await this.advice.reloadAll();
    await this.#flush();
  }

  async #flush(): Promise<void> {
    if (!this.#outbox || this.realtime.status !== 'open') return;
    await this.#outbox.flush(
      async (item) => {
        const ack = await this.realtime.request({
          type: 'send',
          conversationId: item.conversationId,
          clientMsgId: item.clientMsgId,
          content: item.content,
        });
        return ack.message as Message;
      },
      (message) => this.#onMessage(message),
    );
  }

  #onEvent(event: ServerEvent): void {
    switch (event.type) {
      case 'message':
        return this.#onMessage(event.message);
      case 'message.delta':
        if (event.part !== undefined && event.partIndex !== undefined)
          return this.#replace(receivePart(this.#state, event.conversationId, event.messageId, event.partIndex, event.part));
        this.#replace(receiveDelta(this.#state, event.conversationId, event.messageId, event.delta, event.offset));
        if (hasDeltaGap(this.#state.logs[event.conversationId], event.messageId))
          void catchUpStream(this.#access, this.#catchUp, event.conversationId, event.messageId);
        return;
      case 'message.done':
        return this.#replace(receiveFinal(this.#state, event.message));
      case 'message.updated':
        return this.#replace(receiveUpdated(this.#state, event.message));
      case 'typing':
        return this.#typing.receive(event.conversationId, event.userId, this.#state.me?.id);
      case 'read':
        return this.#set({
          inbox: applyRead(this.#state.inbox, event.conversationId, event.memberId, event.seq, this.#state.me?.id ?? ''),
        });
      case 'presence':
        return this.#set({ presence: { ...this.#state.presence, [event.userId]: event.status } });
      case 'advice':
      case 'advice.delta':
      case 'advice.done':
      case 'advice.updated':
        return this.advice.receive(event);
      case 'conversation.joined':
        return this.addConversation(event.conversation);
      case 'conversation.updated':
        return this.takeConversation(event.conversation);
      case 'conversation.left':
        return this.#replace(forgetConversation(this.#state, event.conversationId));
    }
  }

  #onMessage(message: Message): void {
    const { conversationId } = message;
    const me = this.#state.me;
    if (me && message.sender.type === 'user' && message.sender.id === me.id && message.clientMsgId)
      this.#outbox?.remove(message.clientMsgId);
    this.#typing.forget(conversationId, message.sender.id);
    const reading = this.#isReading(conversationId);
    const { state, gap, known } = receiveMessage(this.#state, message, reading);
    this.#replace(state);
    if (gap && this.realtime.status === 'open') void this.#syncer.sync(conversationId);
    if (!known) {
      void this.api.getConversation(conversationId).then(
        (conversation) => this.addConversation(conversation),
        () => undefined,
      );
    } else if (reading) this.markRead(conversationId);
  }

  #isReading(conversationId: string): boolean {
    return (
      this.#state.activeConversationId === conversationId &&
      (typeof document === 'undefined' || document.visibilityState === 'visible')
    );
  }

  #accessToken(): string {
    const tokens = this.api.http.tokens.get();
    if (!tokens) throw new ChorusError('unauthorized', 'Not signed in', { status: 401 });
    return tokens.accessToken;
  }

  #expired(): void {
    if (this.#state.session !== 'signed-in') return;
    this.realtime.stop();
    writeProfile(this.#storage, null);
    this.#state = { ...initialState, session: 'signed-out', notice: 'Your session has ended: please sign in again.' };
    this.#emit();
  }

  #fail(error: unknown): void {
    this.#set({ notice: error instanceof Error ? error.message : 'Something went wrong' });
  }

  #set(patch: Partial<ChatState>): void {
    this.#replace({ ...this.#state, ...patch });
  }

  #replace(state: ChatState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#emit();
  }

  #emit(): void {
    for (const listener of this.#listeners) listener();
  }
}
