import type { Principal } from '../auth/auth-service.ts';
import { requireMembership } from '../conversations/conversations.ts';
import type { Executor } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { toPublicMessage, type MessageRow, type PublicMessage } from '../messages/message-shape.ts';
import { appendMessage, type MessageDeps } from '../messages/messages.ts';
import { copyAttachments, releaseAttachments } from '../attachments/attachment-lifecycle.ts';
import type { AttachmentStorage } from '../attachments/attachment-storage.ts';
import { findVisibleMessage } from './message-changes.ts';

/**
 * Copies a message (content and parts) into `targetConversationId` as a new message of the
 * principal, with a stored reference to the original (`forwardedFrom`, hidden from readers not in
 * the source). Attachments are copied into the target (new ids and bytes), so its members can
 * download them. The copy is an ordinary append: next seq, live `message`, agents may answer it.
 * Throws not_found (source not visible, or the principal is not a member of the target),
 * conflict (a tombstone).
 */
export async function forwardMessage(
  deps: MessageDeps & { attachmentStorage: AttachmentStorage },
  principal: Principal,
  messageId: string,
  targetConversationId: string,
): Promise<PublicMessage> {
  const source = await findVisibleMessage(deps.db, principal, messageId);
  if (source.deletedAt) throw new AppError('conflict', 'A deleted message cannot be forwarded');
  await requireMembership(deps.db, principal.workspaceId, targetConversationId, principal.userId);
  const parts = await copyAttachments(deps, principal, source.parts, source.conversationId, targetConversationId);
  let message: PublicMessage;
  try {
    ({ message } = await appendMessage(deps, {
      workspaceId: principal.workspaceId,
      conversationId: targetConversationId,
      sender: { type: 'user', id: principal.userId },
      content: source.content,
      parts,
      forwardedFrom: { messageId: source.id, conversationId: source.conversationId, senderHandle: source.senderHandle },
    }));
  } catch (error) {
    await releaseAttachments(deps, principal.workspaceId, targetConversationId, source.id, parts);
    throw error;
  }
  return withForwardOrigin(
    deps.db,
    principal,
    { ...message, forwardedFrom: null },
    source.id,
    source.conversationId,
    source.senderHandle,
  );
}

/** One message as the principal may read it, `forwardedFrom` resolved for them. Throws not_found. */
export async function getMessage(db: Executor, principal: Principal, messageId: string): Promise<PublicMessage> {
  return revealForwardOrigin(db, principal, await findVisibleMessage(db, principal, messageId));
}

/** `toPublicMessage(row)` with `forwardedFrom` filled in when the principal is a member of the source conversation. */
export async function revealForwardOrigin(db: Executor, principal: Principal, row: MessageRow): Promise<PublicMessage> {
  const message = toPublicMessage(row);
  const origin = row.forwardedFrom;
  if (!origin) return message;
  return withForwardOrigin(db, principal, message, origin.messageId, origin.conversationId, origin.senderHandle);
}

async function withForwardOrigin(
  db: Executor,
  principal: Principal,
  message: PublicMessage,
  messageId: string,
  conversationId: string,
  senderHandle: string,
): Promise<PublicMessage> {
  const member = await requireMembership(db, principal.workspaceId, conversationId, principal.userId).then(
    () => true,
    () => false,
  );
  const forwardedFrom = member
    ? { messageId, conversationId, senderHandle }
    : { messageId: null, conversationId: null, senderHandle: null };
  return { ...message, forwardedFrom };
}
