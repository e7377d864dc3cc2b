import { authenticate } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import { AppError } from '../errors/app-error.ts';
import { conversationTopic } from '../bus/event-bus.ts';
import { markRead, postMessage, readMessages } from '../messages/messages.ts';
import { deleteMessage, editMessage } from '../messaging/message-changes.ts';
import { readUpdatedMessages } from '../messaging/message-reads.ts';
import { setReaction } from '../messaging/reactions.ts';
import { forwardMessage } from '../messaging/forward.ts';
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
      attachmentIds: frame.attachmentIds,
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
      const { conversation } = await requireMembership(context.db, principal.workspaceId, frame.conversationId, principal.userId);
      const { items, hasMore } = await readMessages(context.db, frame.conversationId, { afterSeq: frame.afterSeq, limit });
      for (const message of items) await connection.sendReplay(new OutboundEvent({ type: 'message', message }));
      const lastSent = items.at(-1)?.seq;
      const updates =
        frame.updatedAfter === undefined
          ? {}
          : await replayUpdates(connection, frame.conversationId, frame.updatedAfter, frame.afterSeq, limit, {
              changesBeforeSync: conversation.lastUpdatedSeq,
              messagesHaveMore: hasMore,
            });
      connection.ack(frame.id, {
        conversationId: frame.conversationId,
        lastSeq: lastSent ?? frame.afterSeq,
        hasMore,
        ...updates,
      });
      deferred = connection.positions.finish(frame.conversationId, lastSent, hasMore);
    } catch (error) {
      for (const event of connection.positions.abort(frame.conversationId)) connection.sendEvent(event);
      throw error;
    }
    for (const event of deferred) connection.sendEvent(event);
  },

  async edit(connection, frame) {
    const message = await editMessage(connection.context, connection.principal, frame.messageId, frame.content);
    connection.ack(frame.id, { message });
  },

  async delete(connection, frame) {
    const message = await deleteMessage(connection.context, connection.principal, frame.messageId);
    connection.ack(frame.id, { message });
  },

  async react(connection, frame) {
    const message = await setReaction(connection.context, connection.principal, frame.messageId, frame.emoji, frame.on);
    connection.ack(frame.id, { message });
  },

  async forward(connection, frame) {
    const message = await forwardMessage(connection.context, connection.principal, frame.messageId, frame.conversationId);
    connection.ack(frame.id, { message });
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

  async approve(connection, frame) {
    const run = await connection.context.answerApproval(connection.principal, frame.runId, frame.approvalId, {
      decision: frame.decision,
      argsHash: frame.argsHash,
    });
    connection.ack(frame.id, { run });
  },

  async ping(connection, frame) {
    connection.sendFrame({ type: 'pong', id: frame.id ?? null });
  },
};

/**
 * Sends `message.updated` for the conversation's messages with seq <= `maxSeq` changed after
 * `updatedAfter` (newer messages were replayed in their current state), at most `limit`; returns
 * the ack fields `lastUpdatedSeq` (the client's next `updatedAfter`) and `updatesHaveMore`. When
 * both this page and the message page are complete, every change up to the conversation's counter
 * read before the replay (`changesBeforeSync`) is reflected in what was sent, so the cursor moves
 * there (changes committed later arrive live, after the ack).
 */
async function replayUpdates(
  connection: Connection,
  conversationId: string,
  updatedAfter: number,
  maxSeq: number,
  limit: number,
  sync: { changesBeforeSync: number; messagesHaveMore: boolean },
): Promise<{ lastUpdatedSeq: number; updatesHaveMore: boolean }> {
  const { items, hasMore } = await readUpdatedMessages(connection.context.db, conversationId, { updatedAfter, maxSeq, limit });
  for (const message of items) await connection.sendReplay(new OutboundEvent({ type: 'message.updated', message }));
  const lastSent = items.at(-1)?.updatedSeq ?? updatedAfter;
  const complete = !hasMore && !sync.messagesHaveMore;
  return { lastUpdatedSeq: complete ? Math.max(lastSent, sync.changesBeforeSync) : lastSent, updatesHaveMore: hasMore };
}

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
