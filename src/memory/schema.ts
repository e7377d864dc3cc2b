import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from '../db/schema.ts';

/**
 * Facts an agent keeps about one user (SPEC §3 memory): written by the `memory_store` step when the
 * agent has memory on, loaded into its context by `memory_load`, listed and deleted by that user.
 */
export const memories = pgTable(
  'memories',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').notNull(),
    userId: uuid('user_id').notNull(),
    content: text('content').notNull(),
    /** The message whose exchange the fact was extracted from. */
    sourceMessageId: uuid('source_message_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('memories_agent_user').on(table.agentId, table.userId, table.createdAt)],
);
