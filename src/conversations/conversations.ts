import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Db, Executor } from '../db/database.ts';
import { agents, conversationMembers, conversations, messages, users } from '../db/schema.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import type { Principal } from '../auth/auth-service.ts';
import { conversationTopic, userTopic, type EventBus } from '../bus/event-bus.ts';
import { toPublicMessage } from '../messages/message-shape.ts';
import { getUser } from '../users/users.ts';
import type { InboxEntry, PublicConversation, PublicMember } from '../wire/conversation.ts';

export type ConversationRow = typeof conversations.$inferSelect;
export type MemberRow = typeof conversationMembers.$inferSelect;

export interface ConversationDeps {
  db: Db;
  bus: EventBus;
}

/**
 * The conversation `conversationId` when `memberId` belongs to it; otherwise not_found,
 * the same answer as for an id that does not exist or lives in another workspace.
 */
export async function requireMembership(
  db: Executor,
  workspaceId: string,
  conversationId: string,
  memberId: string,
): Promise<{ conversation: ConversationRow; member: MemberRow }> {
  const [row] = await db
    .select({ conversation: conversations, member: conversationMembers })
    .from(conversations)
    .innerJoin(
      conversationMembers,
      and(eq(conversationMembers.conversationId, conversations.id), eq(conversationMembers.memberId, memberId)),
    )
    .where(and(eq(conversations.id, conversationId), eq(conversations.workspaceId, workspaceId)));
  if (!row) throw notFound('Conversation');
  return row;
}

/** The members of a conversation with their handles, by join time. */
async function listMembers(db: Executor, conversationId: string): Promise<PublicMember[]> {
  return (await listMembersOf(db, [conversationId])).get(conversationId) ?? [];
}

/** Members of several conversations in one query, keyed by conversation id. */
async function listMembersOf(db: Executor, conversationIds: string[]): Promise<Map<string, PublicMember[]>> {
  const result = new Map<string, PublicMember[]>();
  if (conversationIds.length === 0) return result;
  const rows = await db
    .select({
      member: conversationMembers,
      userHandle: users.handle,
      userName: users.displayName,
      agentHandle: agents.handle,
      agentName: agents.displayName,
    })
    .from(conversationMembers)
    .leftJoin(users, and(eq(conversationMembers.memberType, 'user'), eq(users.id, conversationMembers.memberId)))
    .leftJoin(agents, and(eq(conversationMembers.memberType, 'agent'), eq(agents.id, conversationMembers.memberId)))
    .where(inArray(conversationMembers.conversationId, conversationIds))
    .orderBy(conversationMembers.joinedAt);
  for (const { member, userHandle, userName, agentHandle, agentName } of rows) {
    const list = result.get(member.conversationId) ?? [];
    list.push({
      type: member.memberType,
      id: member.memberId,
      handle: (member.memberType === 'user' ? userHandle : agentHandle) ?? '',
      displayName: (member.memberType === 'user' ? userName : agentName) ?? '',
      role: member.role,
      lastReadSeq: member.lastReadSeq,
      joinedAt: member.joinedAt.toISOString(),
    });
    result.set(member.conversationId, list);
  }
  return result;
}

function toPublicConversation(row: ConversationRow, members: PublicMember[]): PublicConversation {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    kind: row.kind,
    title: row.title,
    createdBy: row.createdBy,
    lastSeq: row.lastSeq,
    lastActivityAt: row.lastActivityAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    members,
  };
}

type MemberRef = { type: 'user' | 'agent'; id: string };

/** Throws not_found unless every referenced user or agent exists in the workspace. */
async function checkMembersExist(db: Executor, workspaceId: string, refs: MemberRef[]): Promise<void> {
  const userIds = refs.filter((ref) => ref.type === 'user').map((ref) => ref.id);
  const agentIds = refs.filter((ref) => ref.type === 'agent').map((ref) => ref.id);
  const foundUsers = userIds.length
    ? await db
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.workspaceId, workspaceId), inArray(users.id, userIds)))
    : [];
  const foundAgents = agentIds.length
    ? await db
        .select({ id: agents.id })
        .from(agents)
        .where(and(eq(agents.workspaceId, workspaceId), inArray(agents.id, agentIds)))
    : [];
  if (foundUsers.length !== new Set(userIds).size || foundAgents.length !== new Set(agentIds).size) {
    throw new AppError('not_found', 'One or more members were not found', { details: { members: refs } });
  }
}

/**
 * Creates a conversation with the caller as owner. A `direct` conversation has exactly one other
 * member and is unique per pair: creating it again returns the existing one with `created: false`.
 * Throws invalid_request (member count), not_found (unknown member).
 */
export async function createConversation(
  deps: ConversationDeps,
  principal: Principal,
  input: { kind: 'direct' | 'group'; title?: string; members: MemberRef[] },
): Promise<{ conversation: PublicConversation; created: boolean }> {
  const others = dedupe(input.members.filter((ref) => !(ref.type === 'user' && ref.id === principal.userId)));
  if (input.kind === 'direct' && others.length !== 1) {
    throw new AppError('invalid_request', 'A direct conversation has exactly one other member');
  }
  await checkMembersExist(deps.db, principal.workspaceId, others);
  const directKey = input.kind === 'direct' ? [principal.userId, others[0].id].sort().join(':') : null;
  if (directKey) {
    const [existing] = await deps.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.workspaceId, principal.workspaceId), eq(conversations.directKey, directKey)));
    if (existing) return { conversation: await getConversation(deps.db, principal, existing.id), created: false };
  }
  const id = uuidv7();
  await deps.db.transaction(async (tx) => {
    await tx.insert(conversations).values({
      id,
      workspaceId: principal.workspaceId,
      kind: input.kind,
      title: input.title ?? null,
      directKey,
      createdBy: principal.userId,
    });
    await tx.insert(conversationMembers).values([
      { conversationId: id, workspaceId: principal.workspaceId, memberType: 'user', memberId: principal.userId, role: 'owner' },
      ...others.map((ref) => ({
        conversationId: id,
        workspaceId: principal.workspaceId,
        memberType: ref.type,
        memberId: ref.id,
        role: 'member' as const,
      })),
    ]);
  });
  const conversation = await getConversation(deps.db, principal, id);
  await announceJoins(deps.bus, conversation, conversation.members);
  return { conversation, created: true };
}

/** The conversation with its members, if the principal is a member; otherwise not_found. */
export async function getConversation(db: Executor, principal: Principal, conversationId: string): Promise<PublicConversation> {
  const { conversation } = await requireMembership(db, principal.workspaceId, conversationId, principal.userId);
  return toPublicConversation(conversation, await listMembers(db, conversationId));
}

/**
 * The principal's inbox: conversations by last activity (newest first), each with `unreadCount`
 * (messages after the caller's read cursor) and `lastMessage`. `cursor` is the previous page's `nextCursor`.
 */
export async function listInbox(
  db: Executor,
  principal: Principal,
  page: { limit: number; cursor?: string },
): Promise<{ items: InboxEntry[]; nextCursor: string | null }> {
  const after = page.cursor ? decodeInboxCursor(page.cursor) : undefined;
  const rows = await db
    .select({ conversation: conversations, lastReadSeq: conversationMembers.lastReadSeq })
    .from(conversationMembers)
    .innerJoin(conversations, eq(conversations.id, conversationMembers.conversationId))
    .where(
      and(
        eq(conversationMembers.memberId, principal.userId),
        eq(conversationMembers.workspaceId, principal.workspaceId),
        after
          ? or(
              lt(conversations.lastActivityAt, after.at),
              and(eq(conversations.lastActivityAt, after.at), lt(conversations.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(conversations.lastActivityAt), desc(conversations.id))
    .limit(page.limit + 1);
  const pageRows = rows.slice(0, page.limit);
  const ids = pageRows.map((row) => row.conversation.id);
  const lastMessages = ids.length
    ? await db
        .select()
        .from(messages)
        .where(
          and(
            inArray(messages.conversationId, ids),
            sql`${messages.seq} = (select c.last_seq from conversations c where c.id = ${messages.conversationId})`,
          ),
        )
    : [];
  const lastById = new Map(lastMessages.map((message) => [message.conversationId, toPublicMessage(message)]));
  const membersById = await listMembersOf(db, ids);
  const items: InboxEntry[] = pageRows.map((row) => ({
    ...toPublicConversation(row.conversation, membersById.get(row.conversation.id) ?? []),
    unreadCount: Math.max(0, row.conversation.lastSeq - row.lastReadSeq),
    lastMessage: lastById.get(row.conversation.id) ?? null,
  }));
  const last = pageRows.at(-1);
  const nextCursor =
    rows.length > page.limit && last ? encodeInboxCursor(last.conversation.lastActivityAt, last.conversation.id) : null;
  return { items, nextCursor };
}

function encodeInboxCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

function decodeInboxCursor(cursor: string): { at: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const at = new Date(iso ?? '');
  if (!id || Number.isNaN(at.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new AppError('invalid_request', 'Invalid cursor');
  return { at, id };
}

/**
 * Adds members to a group conversation. The caller must be a member. Members already present are
 * skipped. Throws invalid_request for a direct conversation, not_found for unknown ids.
 */
export async function addMembers(
  deps: ConversationDeps,
  principal: Principal,
  conversationId: string,
  refs: MemberRef[],
): Promise<PublicConversation> {
  const { conversation } = await requireMembership(deps.db, principal.workspaceId, conversationId, principal.userId);
  if (conversation.kind === 'direct') throw new AppError('invalid_request', 'Members of a direct conversation cannot change');
  const wanted = dedupe(refs);
  await checkMembersExist(deps.db, principal.workspaceId, wanted);
  const inserted = wanted.length
    ? await deps.db
        .insert(conversationMembers)
        .values(
          wanted.map((ref) => ({
            conversationId,
            workspaceId: principal.workspaceId,
            memberType: ref.type,
            memberId: ref.id,
          })),
        )
        .onConflictDoNothing()
        .returning({ memberId: conversationMembers.memberId })
    : [];
  const result = await getConversation(deps.db, principal, conversationId);
  const added = new Set(inserted.map((row) => row.memberId));
  await announceJoins(
    deps.bus,
    result,
    result.members.filter((member) => added.has(member.id)),
  );
  if (added.size > 0) await announceUpdate(deps.bus, result);
  return result;
}

/**
 * Renames a group (any member may; `null` clears the title, so clients name it by its members)
 * and tells its members (`conversation.updated`). Throws not_found (not a member),
 * invalid_request (a direct conversation, whose name is the other person's).
 */
export async function renameConversation(
  deps: ConversationDeps,
  principal: Principal,
  conversationId: string,
  title: string | null,
): Promise<PublicConversation> {
  const { conversation } = await requireMembership(deps.db, principal.workspaceId, conversationId, principal.userId);
  if (conversation.kind === 'direct') throw new AppError('invalid_request', 'A direct conversation has no title of its own');
  await deps.db.update(conversations).set({ title }).where(eq(conversations.id, conversationId));
  const result = await getConversation(deps.db, principal, conversationId);
  if (conversation.title !== title) await announceUpdate(deps.bus, result);
  return result;
}

/**
 * Removes a member. Anyone may remove themselves; removing others needs the conversation's owner
 * or a workspace owner/admin. Throws forbidden, not_found, invalid_request (direct conversations).
 */
export async function removeMember(
  deps: ConversationDeps,
  principal: Principal,
  conversationId: string,
  memberId: string,
): Promise<void> {
  const { conversation, member: self } = await requireMembership(
    deps.db,
    principal.workspaceId,
    conversationId,
    principal.userId,
  );
  if (conversation.kind === 'direct') throw new AppError('invalid_request', 'Members of a direct conversation cannot change');
  if (memberId !== principal.userId && self.role !== 'owner') {
    const user = await getUser(deps.db, principal.workspaceId, principal.userId);
    if (user.role === 'member') throw new AppError('forbidden', 'Only the conversation owner or an admin can remove others');
  }
  const removed = await deps.db
    .delete(conversationMembers)
    .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.memberId, memberId)))
    .returning();
  if (removed.length === 0) throw notFound('Member');
  const [row] = removed;
  const event = { type: 'member.left', conversationId, memberId, memberType: row.memberType };
  if (row.memberType === 'user') await deps.bus.publish(userTopic(memberId), event);
  await announceUpdate(deps.bus, toPublicConversation(conversation, await listMembers(deps.db, conversationId)));
}

/**
 * Tells every member still in the conversation its new members and title: a `conversation.updated
 * {conversationId, conversation}` frame on the conversation's topic (docs/protocol.md).
 */
async function announceUpdate(bus: EventBus, conversation: PublicConversation): Promise<void> {
  await bus.publish(conversationTopic(conversation.id), {
    type: 'conversation.updated',
    conversationId: conversation.id,
    conversation,
  });
}

async function announceJoins(bus: EventBus, conversation: PublicConversation, joined: PublicMember[]): Promise<void> {
  for (const member of joined) {
    if (member.type !== 'user') continue;
    await bus.publish(userTopic(member.id), {
      type: 'member.joined',
      conversationId: conversation.id,
      memberId: member.id,
      conversation,
    });
  }
}

function dedupe(refs: MemberRef[]): MemberRef[] {
  const seen = new Map<string, MemberRef>();
  for (const ref of refs) seen.set(ref.id, ref);
  return [...seen.values()];
}
