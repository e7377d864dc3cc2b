/** Tables of the schedules feature. */
import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** A recurring agent run: at each cron occurrence the prompt is posted and the agent answers it. */
export const schedules = pgTable(
  'schedules',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    agentId: uuid('agent_id').notNull(),
    conversationId: uuid('conversation_id').notNull(),
    createdBy: uuid('created_by').notNull(),
    cron: text('cron').notNull(),
    timezone: text('timezone').notNull(),
    prompt: text('prompt').notNull(),
    paused: boolean('paused').notNull().default(false),
    /** The next occurrence to fire; null when the expression has none left. Claimed by compare-and-set. */
    nextRunAt: timestamp('next_run_at', { withTimezone: true }),
    lastFiredAt: timestamp('last_fired_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('schedules_due').on(table.nextRunAt), index('schedules_workspace').on(table.workspaceId)],
);
