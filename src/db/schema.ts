/**
 * The whole Chorus schema, one Postgres dialect for PGlite and PostgreSQL.
 * Every table carries `workspace_id`; every query filters by it (SPEC §3: no query crosses workspaces).
 * Migrations are generated from this file by `npm run db:generate` into src/db/migrations.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { MessageStatus } from '../wire/message.ts';
import type { RunStatus } from '../wire/run.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const workspaces = pgTable('workspaces', {
  id: uuid('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** One row per handle in a workspace: users and agents share this namespace (SPEC §3). */
export const handles = pgTable(
  'handles',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    handleLower: text('handle_lower').notNull(),
    ownerType: text('owner_type', { enum: ['user', 'agent'] }).notNull(),
    ownerId: uuid('owner_id').notNull(),
  },
  (table) => [primaryKey({ columns: [table.workspaceId, table.handleLower] })],
);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    handle: text('handle').notNull(),
    displayName: text('display_name').notNull(),
    role: text('role', { enum: ['owner', 'admin', 'member'] }).notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('users_workspace_handle').on(table.workspaceId, sql`lower(${table.handle})`)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [index('refresh_tokens_family').on(table.familyId)],
);

export const invites = pgTable('invites', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull().unique(),
  role: text('role', { enum: ['admin', 'member'] })
    .notNull()
    .default('member'),
  createdBy: uuid('created_by').notNull(),
  maxUses: integer('max_uses').notNull(),
  uses: integer('uses').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: createdAt(),
});

export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  keyHash: text('key_hash').notNull().unique(),
  prefix: text('prefix').notNull(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdAt: createdAt(),
});

export const agents = pgTable('agents', {
  id: uuid('id').primaryKey(),
  workspaceId: uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  handle: text('handle').notNull(),
  displayName: text('display_name').notNull(),
  model: text('model'),
  systemPrompt: text('system_prompt').notNull().default(''),
  temperature: real('temperature'),
  maxOutputTokens: integer('max_output_tokens'),
  tools: jsonb('tools').$type<string[]>().notNull().default([]),
  /** The agent's own action chain (src/chain/chain-schema.ts), null for the default chain. */
  actionChain: jsonb('action_chain').$type<unknown>(),
  /** Per-agent run budgets `{maxSteps?, maxToolCalls?, maxTokens?}` over the config defaults. */
  budgets: jsonb('budgets').$type<Record<string, number> | null>(),
  /** Tool refs (exact, or `mcp:<server>/*`) whose calls wait for the requester's approval. */
  toolApprovals: jsonb('tool_approvals').$type<string[]>().notNull().default([]),
  knowledgeBaseIds: jsonb('knowledge_base_ids').$type<string[]>().notNull().default([]),
  memoryEnabled: boolean('memory_enabled').notNull().default(false),
  ownerId: uuid('owner_id').notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['direct', 'group'] }).notNull(),
    title: text('title'),
    /** For `direct`: the two member keys sorted and joined, so a pair has one direct conversation. */
    directKey: text('direct_key'),
    createdBy: uuid('created_by').notNull(),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    /** Counter of message changes (edit, delete, reaction, thread reply): each change stamps the next value on the row. */
    lastUpdatedSeq: bigint('last_updated_seq', { mode: 'number' }).notNull().default(0),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('conversations_direct_key').on(table.workspaceId, table.directKey)],
);

export const conversationMembers = pgTable(
  'conversation_members',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id').notNull(),
    memberType: text('member_type', { enum: ['user', 'agent'] }).notNull(),
    memberId: uuid('member_id').notNull(),
    role: text('role', { enum: ['owner', 'member'] })
      .notNull()
      .default('member'),
    lastReadSeq: bigint('last_read_seq', { mode: 'number' }).notNull().default(0),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.conversationId, table.memberId] }),
    index('conversation_members_member').on(table.memberId),
  ],
);

/** Where a forwarded message came from (stored whole; `toPublicMessage` hides it). */
export interface ForwardReference {
  messageId: string;
  conversationId: string;
  senderHandle: string;
}

export type { MessageStatus };

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    threadRootId: uuid('thread_root_id'),
    senderType: text('sender_type', { enum: ['user', 'agent'] }).notNull(),
    senderId: uuid('sender_id').notNull(),
    senderHandle: text('sender_handle').notNull(),
    onBehalfOf: uuid('on_behalf_of'),
    content: text('content').notNull(),
    parts: jsonb('parts').$type<unknown[]>().notNull().default([]),
    status: text('status', { enum: ['complete', 'streaming', 'failed', 'cancelled', 'interrupted'] })
      .$type<MessageStatus>()
      .notNull()
      .default('complete'),
    error: text('error'),
    usage: jsonb('usage').$type<Record<string, unknown> | null>(),
    runId: uuid('run_id'),
    clientMsgId: text('client_msg_id'),
    createdAt: createdAt(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    /** Set when deleted: the row stays as a tombstone (content '', parts []) so seqs keep no gaps. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** The conversation's `last_updated_seq` at this row's last change; 0 when never changed. */
    updatedSeq: bigint('updated_seq', { mode: 'number' }).notNull().default(0),
    /** On a thread root: replies so far and when the last one came. */
    replyCount: integer('reply_count').notNull().default(0),
    lastReplyAt: timestamp('last_reply_at', { withTimezone: true }),
    /** `[{emoji, count, userIds}]`, rebuilt from message_reactions at each reaction change. */
    reactions: jsonb('reactions').$type<unknown[]>().notNull().default([]),
    /** The message this one forwards, `{messageId, conversationId, senderHandle}`; shown only to members of that conversation. */
    forwardedFrom: jsonb('forwarded_from').$type<ForwardReference | null>(),
  },
  (table) => [
    uniqueIndex('messages_conversation_seq').on(table.conversationId, table.seq),
    uniqueIndex('messages_client_msg_id')
      .on(table.conversationId, table.senderId, table.clientMsgId)
      .where(sql`${table.clientMsgId} is not null`),
    index('messages_conversation_updated_seq')
      .on(table.conversationId, table.updatedSeq)
      .where(sql`${table.updatedSeq} > 0`),
    index('messages_thread_root')
      .on(table.threadRootId, table.seq)
      .where(sql`${table.threadRootId} is not null`),
    index('messages_status_streaming')
      .on(table.status)
      .where(sql`${table.status} = 'streaming'`),
  ],
);

export type { RunStatus };

export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').notNull(),
    triggerMessageId: uuid('trigger_message_id'),
    messageId: uuid('message_id'),
    onBehalfOf: uuid('on_behalf_of'),
    /** The agent-to-agent chain depth of the reply: 0 when a person's message triggered it, +1 per agent hop. */
    depth: integer('depth').notNull().default(0),
    /** The binding whose run this is (src/bindings), if any; not a foreign key, the run outlives it. */
    bindingId: uuid('binding_id'),
    /**
     * The person the agent writes for (a binding's run): the context is written from their side,
     * with `perspective_system` as the system prompt and `perspective_closing_turn` as the last
     * turn, both frozen when the run was requested. Null for an agent's own reply.
     */
    perspectiveUserId: uuid('perspective_user_id'),
    perspectiveSystem: text('perspective_system'),
    perspectiveClosingTurn: text('perspective_closing_turn'),
    /**
     * Where the reply goes: null for the agent's conversation message, else the kind of a
     * registered run output (`advice`: a private suggestion, src/bindings), visible only to
     * `perspective_user_id`.
     */
    output: text('output'),
    status: text('status', { enum: ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'interrupted'] })
      .$type<RunStatus>()
      .notNull(),
    /** While `waiting`: where the chain resumes once a person answers (src/chain/run-pause.ts). */
    resumeState: jsonb('resume_state').$type<Record<string, unknown> | null>(),
    steps: jsonb('steps').$type<unknown[]>().notNull().default([]),
    usage: jsonb('usage').$type<Record<string, unknown> | null>(),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [
    index('runs_conversation').on(table.conversationId),
    // The re-queue sweep of distributed mode reads the runs waiting longest (src/runs/queued-run-sweep.ts).
    index('runs_queued')
      .on(table.createdAt)
      .where(sql`${table.status} = 'queued'`),
  ],
);
