import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from '../db/schema.ts';

export type HumanRequestStatus = 'pending' | 'approved' | 'denied' | 'answered' | 'expired' | 'cancelled';

/**
 * A person asked for input by a paused run: an approval of one tool call with its exact
 * arguments (`args_hash` binds the answer to them), or a question (`call_human`) answered by a
 * thread reply to its message. Answered once, by `addressed_to` only; `expires_at` ends it
 * unanswered. `message_id` is the request's message in the conversation.
 */
export const humanRequests = pgTable(
  'human_requests',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    runId: uuid('run_id').notNull(),
    conversationId: uuid('conversation_id').notNull(),
    agentId: uuid('agent_id').notNull(),
    kind: text('kind', { enum: ['approval', 'question'] }).notNull(),
    addressedTo: uuid('addressed_to').notNull(),
    messageId: uuid('message_id'),
    toolCallId: text('tool_call_id'),
    toolName: text('tool_name'),
    toolRef: text('tool_ref'),
    args: jsonb('args').$type<Record<string, unknown>>(),
    argsHash: text('args_hash'),
    question: text('question'),
    answer: text('answer'),
    status: text('status', { enum: ['pending', 'approved', 'denied', 'answered', 'expired', 'cancelled'] })
      .$type<HumanRequestStatus>()
      .notNull()
      .default('pending'),
    answeredBy: uuid('answered_by'),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('human_requests_run').on(table.runId),
    index('human_requests_pending_expiry').on(table.status, table.expiresAt),
  ],
);
