import { authenticate } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import { AppError } from '../errors/app-error.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import { markRead, postMessage, readMessages } from '../messages/messages.ts';
import { isClientFrameType, validateFrame, type ClientFrame, type ClientFrameType, type RawFrame } from './client-frames.ts';
import type { Connection } from './connection.ts';
import { OutboundEvent } from './outbound-event.ts';

/** Messages per `sync` page when the client gives no `limit`. */
const defaultSyncLimit = 100;

type Command<T extends ClientFrameType> = (connection: Connection, frame: ClientFrame<T>) => Promise<void>;

/**
 * The command table: one handler per client frame type (SPEC §5). Each validates nothing itself
 * (the frame's schema already did), calls one feature function and answers with `ack`, `pong` or
 * nothing; thrown AppErrors become `error {id, code, message}` frames in the connection.
 */
const commands: { [T in ClientFrameType]: Command<T> } = {
  async auth(connection, frame) {
    connection.reauthenticate(await authenticate(connection.context, frame.token));
    connection.ack(frame.id, { userId: connection.userId });
  },

  async send(connection, frame) {
    const { message } = await postMessage(connection.context, connection.principal, frame.conversationId, {
      content: frame.content,
      clientMsgId: frame.clientMsgId,
      threadRootId: frame.threadRootId,
    });
    connection.ack(frame.id, { message });
  },

  async sync(connection, frame) {
    const { context, principal } = connection;
    const limit = Math.min(frame.limit ?? defaultSyncLimit, context.config.limits.maxPageSize);
    // Live events of the conversation wait from here on, so none can overtake the page.
    connection.positions.begin(frame.conversationId);
    let deferred: OutboundEvent[];
    try {
      await requireMembership(context.db, principal.workspaceId, frame.conversationId, principal.userId);
      const { items, hasMore } = await readMessages(context.db, frame.conversationId, { afterSeq: frame.afterSeq, limit });
      for (const message of items) await connection.sendReplay(new OutboundEvent({ type: 'message', message }));
      const lastSent = items.at(-1)?.seq;
      connection.ack(frame.id, { conversationId: frame.conversationId, lastSeq: lastSent ?? frame.afterSeq, hasMore });
      deferred = connection.positions.finish(frame.conversationId, lastSent, hasMore);
    } catch (error) {
      for (const event of connection.positions.abort(frame.conversationId)) connection.sendEvent(event);
      throw error;
    }
    for (const event of deferred) connection.sendEvent(event);
  },

  async typing(connection, frame) {
    if (!connection.follows(frame.conversationId)) throw new AppError('not_found', 'Conversation not found');
    await connection.context.bus.publish(conversationTopic(frame.conversationId), {
      type: 'typing',
      conversationId: frame.conversationId,
      userId: connection.userId,
    });
    if (frame.id !== undefined) connection.ack(frame.id);
  },

  async read(connection, frame) {
    const seq = await markRead(connection.context, connection.principal, frame.conversationId, frame.seq);
    connection.ack(frame.id, { conversationId: frame.conversationId, seq });
  },

  async cancel(connection, frame) {
    await connection.context.cancelRun(connection.principal, frame.runId);
    connection.ack(frame.id, { runId: frame.runId });
  },

  async ping(connection, frame) {
    connection.sendFrame({ type: 'pong', id: frame.id ?? null });
  },
};

/**
 * Runs one frame of an authenticated connection: spends one unit of the user's frame rate limit,
 * validates the frame against its type's schema, then calls its command. Throws invalid_request
 * (unknown type, bad fields), rate_limited, and whatever the command throws.
 */
export async function runFrame(connection: Connection, raw: RawFrame): Promise<void> {
  await connection.context.rateLimits.consume(`user:${connection.userId}`);
  if (raw.type === undefined) throw new AppError('invalid_request', 'Frame needs a string "type"');
  if (!isClientFrameType(raw.type)) throw new AppError('invalid_request', `Unknown frame type "${raw.type}"`);
  const type: ClientFrameType = raw.type;
  const command = commands[type] as Command<typeof type>;
  await command(connection, validateFrame(type, raw));
}
