import { sql } from 'drizzle-orm';
import { boolean, date, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { agents, conversations, users, workspaces } from '../db/schema.ts';
import type { AdviceStatus } from '../wire/binding.ts';

/**
 * A person's agent attached to one conversation for them only (SPEC §3 Binding). One binding per
 * (conversation, user, mode): a person has at most one autoreplier and one adviser per conversation.
 * `usage_day` / `usage_count` count the runs started on that UTC day (the daily budget);
 * `notice_day` is the day the budget notice was last given (once a day).
 */
export const bindings = pgTable(
  'bindings',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    mode: text('mode', { enum: ['autoreply', 'advice'] }).notNull(),
    enabled: boolean('enabled').notNull().default(true),
    onlyWhenAway: boolean('only_when_away').notNull().default(false),
    delaySeconds: integer('delay_seconds').notNull().default(0),
    instructions: text('instructions').notNull().default(''),
    dailyMessageBudget: integer('daily_message_budget'),
    usageDay: date('usage_day', { mode: 'string' }),
    usageCount: integer('usage_count').notNull().default(0),
    noticeDay: date('notice_day', { mode: 'string' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('bindings_conversation_user_mode').on(table.conversationId, table.userId, table.mode),
    index('bindings_user').on(table.userId),
  ],
);

/** The kill switch: a row means every binding of the user is paused (by them or an admin). */
export const bindingPauses = pgTable('binding_pauses', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id').notNull(),
  pausedBy: uuid('paused_by').notNull(),
  pausedAt: timestamp('paused_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Private suggestions and notices for one person in one conversation. Never a message: no seq,
 * never in history, sync, search, the inbox or another run's context.
 */
export const advice = pgTable(
  'advice',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id'),
    bindingId: uuid('binding_id').references(() => bindings.id, { onDelete: 'set null' }),
    runId: uuid('run_id'),
    triggerMessageId: uuid('trigger_message_id'),
    kind: text('kind', { enum: ['suggestion', 'notice'] }).notNull(),
    content: text('content').notNull().default(''),
    status: text('status', { enum: ['streaming', 'ready', 'failed', 'cancelled', 'interrupted', 'sent', 'dismissed'] })
      .$type<AdviceStatus>()
      .notNull(),
    error: text('error'),
    usage: jsonb('usage').$type<Record<string, unknown> | null>(),
    sentMessageId: uuid('sent_message_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // An advice run finds its advice again: recorded once when cancelled, reset or ended when its
    // node died (advice-reply.ts).
    index('advice_run').on(table.runId),
    index('advice_owner_pending')
      .on(table.userId, table.conversationId, table.createdAt)
      .where(sql`${table.status} not in ('sent', 'dismissed')`),
  ],
);
