import { boolean, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from '../db/schema.ts';
import type { McpTool } from '../wire/mcp.ts';

/** A tool as an MCP server lists it, cached on the server row. */
export type CachedTool = McpTool;

/**
 * HTTP MCP servers added through the API, per workspace (stdio servers come from the config file
 * only and have no row). `headers_encrypted` is AES-256-GCM ciphertext (src/mcp/header-crypto.ts);
 * `header_names` keeps the names the API may show.
 */
export const mcpServers = pgTable(
  'mcp_servers',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    transport: text('transport', { enum: ['streamable-http', 'sse'] }).notNull(),
    url: text('url').notNull(),
    headersEncrypted: text('headers_encrypted'),
    headerNames: jsonb('header_names').$type<string[]>().notNull().default([]),
    enabled: boolean('enabled').notNull().default(true),
    tools: jsonb('tools').$type<CachedTool[] | null>(),
    toolsRefreshedAt: timestamp('tools_refreshed_at', { withTimezone: true }),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('mcp_servers_workspace_name').on(table.workspaceId, table.name)],
);
