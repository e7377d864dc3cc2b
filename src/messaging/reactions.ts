import { and, eq, sql } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import { AppError } from '../errors/app-error.ts';
import { toPublicMessage, type PublicMessage } from '../messages/message-shape.ts';
import { messageReactions } from './schema.ts';
import { findVisibleMessage, publishUpdated, stampChange, type ChangeDeps } from './message-changes.ts';

const shortcode = /^:[a-z0-9_+-]{1,40}:$/;
const pictographic = /[\p{Extended_Pictographic}\p{Regional_Indicator}]/u;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Whether `emoji` is one emoji grapheme (≤ 32 UTF-8 bytes, e.g. 👍🏽, 🇫🇷) or a `:shortcode:`. */
export function isValidEmoji(emoji: string): boolean {
  if (shortcode.test(emoji)) return true;
  if (Buffer.byteLength(emoji, 'utf8') > 32 || !pictographic.test(emoji)) return false;
  return [...segmenter.segment(emoji)].length === 1;
}

/**
 * Adds (`on`) or removes the principal's reaction `emoji` on a message and, when that changed
 * anything, rebuilds the message's `reactions` and publishes `message.updated`. Idempotent: adding
 * twice or removing an absent reaction returns the message unchanged. Throws invalid_request (not
 * an emoji), not_found (message not visible: another workspace, a conversation the principal is
 * not or no longer in), conflict (deleted message).
 */
export async function setReaction(
  deps: ChangeDeps,
  principal: Principal,
  messageId: string,
  emoji: string,
  on: boolean,
): Promise<PublicMessage> {
  if (!isValidEmoji(emoji)) throw new AppError('invalid_request', 'emoji must be one emoji or a :shortcode:');
  const result = await deps.db.transaction(async (tx) => {
    const row = await findVisibleMessage(tx, principal, messageId);
    if (row.deletedAt) throw new AppError('conflict', 'A deleted message cannot be reacted to');
    const mine = and(
      eq(messageReactions.messageId, row.id),
      eq(messageReactions.userId, principal.userId),
      eq(messageReactions.emoji, emoji),
    );
    const changed = on
      ? await tx
          .insert(messageReactions)
          .values({
            messageId: row.id,
            workspaceId: row.workspaceId,
            conversationId: row.conversationId,
            userId: principal.userId,
            emoji,
          })
          .onConflictDoNothing()
          .returning({ messageId: messageReactions.messageId })
      : await tx.delete(messageReactions).where(mine).returning({ messageId: messageReactions.messageId });
    if (changed.length === 0) return { row, changed: false };
    const reactions = sql`(select coalesce(jsonb_agg(jsonb_build_object('emoji', r.emoji, 'count', r.n, 'userIds', r.ids)
        order by r.first), '[]'::jsonb)
      from (select emoji, count(*)::int as n, jsonb_agg(user_id order by created_at) as ids, min(created_at) as first
            from message_reactions where message_id = ${row.id} group by emoji) r)`;
    return { row: await stampChange(tx, row, { reactions }), changed: true };
  });
  const message = toPublicMessage(result.row);
  if (result.changed) await publishUpdated(deps.bus, message);
  return message;
}
