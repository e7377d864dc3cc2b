/**
 * Fan-out between the code that changes state and the connections that show it.
 * Two implementations: `event-bus.memory.ts` (one process) and a Redis one for many nodes.
 * Payloads must be plain JSON (they cross processes in distributed mode).
 *
 * Topics: `conversation:<id>` carries that conversation's events; `user:<id>` carries events for
 * one user wherever they are connected (membership changes, advice, human requests).
 *
 * Forwarding rule: an event whose `type` is a SPEC §5 server frame (`message`, `message.delta`,
 * `message.done`, `message.updated`, `typing`, `presence`, `read`, `run.step`, `advice`,
 * `human.request`, and Chorus's `conversation.updated`) is sent to clients as that frame, fields as
 * published. Types starting with
 * `member.` (`member.joined {conversationId, memberId, conversation}`, `member.left
 * {conversationId, memberId}`) are internal: they change which conversations a user's
 * connections follow (clients see them as `conversation.joined` / `conversation.left`).
 * `presence:<workspaceId>` carries presence changes (see `presenceTopic`).
 */
export interface EventBus {
  /** Delivers `event` to every current subscriber of `topic`, on every node. At most once; ordered per topic per publisher. */
  publish(topic: string, event: BusEvent): Promise<void>;
  /** Calls `handler` for each event on `topic` until the returned function is called. */
  subscribe(topic: string, handler: (event: BusEvent) => void): () => void;
  /**
   * Resolves when every subscription made so far is active, so an event published afterwards on
   * any node will be delivered. Call it before replaying from the store (subscribe, ready, replay).
   */
  ready(): Promise<void>;
  /**
   * Presence bookkeeping shared by every node: adds `delta` (+1 when a connection of `userId` of
   * `workspaceId` authenticates, -1 when it ends) to the user's live connection count on this node
   * and resolves to the user's count on every live node after the change (never below 0). A
   * transition 0→1 means online, 1→0 offline.
   */
  countConnections(userId: string, delta: 1 | -1, workspaceId: string): Promise<number>;
  /** The subset of `userIds` with at least one live connection on any live node, in input order. */
  filterOnline(userIds: readonly string[]): Promise<string[]>;
  /**
   * Call every `presenceSweepMs`: keeps this node's connections counted (re-registering them when
   * the shared store lost them) and forgets those of nodes that stopped sweeping for longer than
   * their time-to-live (killed, frozen, cut off). Resolves to the users whose status changed
   * because of it — each change reported by one node only — so the caller announces them.
   */
  sweepPresence(): Promise<PresenceChange[]>;
  /** How often `sweepPresence` should run, in ms. */
  readonly presenceSweepMs: number;
  close(): Promise<void>;
}

/** A user whose presence changed without a connection opening or closing (see `sweepPresence`). */
export interface PresenceChange {
  userId: string;
  workspaceId: string;
  status: 'online' | 'offline';
}

/** An event on the bus: `type` is a server frame type (SPEC §5) or an internal one (`member.*`). */
export interface BusEvent {
  type: string;
  [field: string]: unknown;
}

export const conversationTopic = (conversationId: string) => `conversation:${conversationId}`;
export const userTopic = (userId: string) => `user:${userId}`;
/**
 * `presence {userId, status, conversationIds}` for one workspace: each node shows the frame
 * `presence {userId, status}` once to its local connections that follow any of `conversationIds`.
 */
export const presenceTopic = (workspaceId: string) => `presence:${workspaceId}`;
