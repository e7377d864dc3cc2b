import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { readMessages } from '../messages/messages.ts';
import { ConversationSequencer } from './conversation-sequencer.ts';
import { conversationTopic, presenceTopic, userTopic, type BusEvent, type EventBus } from '../bus/event-bus.ts';
import { loadLastSeqs } from './memberships.ts';
import { forwardedTypes, OutboundEvent } from './outbound-event.ts';

/** A local recipient of live events: a WebSocket connection or an SSE stream. */
export interface HubMember {
  readonly userId: string;
  readonly workspaceId: string;
  /** A live event of a followed conversation (in seq order per conversation), or a `presence` frame. */
  receive(event: OutboundEvent): void;
  /** An event of the member's `user:<id>` topic (`member.*`, `advice`, `human.request`, …). */
  receiveUserEvent(event: OutboundEvent): void;
}

/** What the hub needs: the bus, the store (bases and gap fills) and the sequencer hold time. */
export interface HubDeps {
  bus: EventBus;
  db: Db;
  logger: Logger;
  /** See `SequencerDeps.holdMs`. */
  reorderHoldMs: number;
}

interface ConversationRoom {
  members: Set<HubMember>;
  sequencer: ConversationSequencer;
  unsubscribe: () => void;
}

interface Room {
  members: Set<HubMember>;
  unsubscribe: () => void;
}

/**
 * This node's map of topics to local members: one bus subscription per topic per node however many
 * local connections follow it, each event put in order once (`ConversationSequencer`) and
 * serialised once (`OutboundEvent`) for all of them.
 */
export class Hub {
  readonly #deps: HubDeps;
  readonly #conversations = new Map<string, ConversationRoom>();
  readonly #users = new Map<string, Room>();
  readonly #workspaces = new Map<string, Room>();

  constructor(deps: HubDeps) {
    this.#deps = deps;
  }

  /** Starts delivering the member's user-topic events and its workspace's presence changes. */
  addMember(member: HubMember): void {
    this.#joinRoom(this.#users, userTopic(member.userId), member, (room, event) => {
      const outbound = new OutboundEvent(event);
      for (const each of room.members) each.receiveUserEvent(outbound);
    });
    this.#joinRoom(this.#workspaces, presenceTopic(member.workspaceId), member, (_room, event) => this.#deliverPresence(event));
  }

  /** Stops everything `addMember` and `follow` started for the member. */
  removeMember(member: HubMember, conversationIds: Iterable<string>): void {
    for (const conversationId of conversationIds) this.unfollow(member, conversationId);
    this.#leaveRoom(this.#users, userTopic(member.userId), member);
    this.#leaveRoom(this.#workspaces, presenceTopic(member.workspaceId), member);
  }

  /**
   * Delivers the live events of `conversationIds` to the member from now on. Resolves once every
   * conversation new to this node has its base seq (read after subscribing, so no event is lost).
   */
  async follow(member: HubMember, conversationIds: Iterable<string>): Promise<void> {
    const fresh: Array<[string, ConversationSequencer]> = [];
    for (const conversationId of conversationIds) {
      let room = this.#conversations.get(conversationId);
      if (!room) {
        room = this.#openConversation(conversationId);
        fresh.push([conversationId, room.sequencer]);
      }
      room.members.add(member);
    }
    if (fresh.length === 0) return;
    let bases = new Map<string, number>();
    try {
      await this.#deps.bus.ready();
      bases = await loadLastSeqs(
        this.#deps.db,
        fresh.map(([conversationId]) => conversationId),
      );
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'loading conversation positions failed');
    }
    for (const [conversationId, sequencer] of fresh) sequencer.setBase(bases.get(conversationId));
  }

  /** Stops the conversation's live events for the member. */
  unfollow(member: HubMember, conversationId: string): void {
    const room = this.#conversations.get(conversationId);
    if (!room?.members.delete(member) || room.members.size > 0) return;
    this.#conversations.delete(conversationId);
    room.unsubscribe();
    room.sequencer.close();
  }

  /** The members of this node following `userId`'s topic: that user's other tabs and streams here. */
  localMembersOf(userId: string): ReadonlySet<HubMember> {
    return this.#users.get(userTopic(userId))?.members ?? new Set();
  }

  /** Number of conversations with local followers (for metrics and tests). */
  get conversationCount(): number {
    return this.#conversations.size;
  }

  #openConversation(conversationId: string): ConversationRoom {
    const members = new Set<HubMember>();
    const sequencer = new ConversationSequencer(conversationId, {
      holdMs: this.#deps.reorderHoldMs,
      loadGap: (id, afterSeq, beforeSeq) => this.#loadGap(id, afterSeq, beforeSeq),
      emit: (event) => {
        for (const member of members) member.receive(event);
      },
      onError: (error) => this.#deps.logger.error({ err: error, conversationId }, 'filling a seq gap failed'),
    });
    const unsubscribe = this.#deps.bus.subscribe(conversationTopic(conversationId), (event) => {
      if (forwardedTypes.has(event.type)) sequencer.push(new OutboundEvent(event));
    });
    const room = { members, sequencer, unsubscribe };
    this.#conversations.set(conversationId, room);
    return room;
  }

  async #loadGap(conversationId: string, afterSeq: number, beforeSeq: number): Promise<OutboundEvent[]> {
    const { items } = await readMessages(this.#deps.db, conversationId, { afterSeq, limit: beforeSeq - afterSeq - 1 });
    return items.filter((message) => message.seq < beforeSeq).map((message) => new OutboundEvent({ type: 'message', message }));
  }

  /** `presence {userId, status, conversationIds}` → the frame without `conversationIds`, once per local follower. */
  #deliverPresence(event: BusEvent): void {
    if (event.type !== 'presence' || !Array.isArray(event.conversationIds)) return;
    const recipients = new Set<HubMember>();
    for (const conversationId of event.conversationIds as string[]) {
      for (const member of this.#conversations.get(conversationId)?.members ?? []) recipients.add(member);
    }
    if (recipients.size === 0) return;
    const frame = new OutboundEvent({ type: 'presence', userId: event.userId, status: event.status });
    for (const member of recipients) member.receive(frame);
  }

  #joinRoom(rooms: Map<string, Room>, topic: string, member: HubMember, handle: (room: Room, event: BusEvent) => void): void {
    let room = rooms.get(topic);
    if (!room) {
      const created: Room = { members: new Set(), unsubscribe: () => {} };
      created.unsubscribe = this.#deps.bus.subscribe(topic, (event) => handle(created, event));
      rooms.set(topic, created);
      room = created;
    }
    room.members.add(member);
  }

  #leaveRoom(rooms: Map<string, Room>, topic: string, member: HubMember): void {
    const room = rooms.get(topic);
    if (!room?.members.delete(member) || room.members.size > 0) return;
    rooms.delete(topic);
    room.unsubscribe();
  }
}
