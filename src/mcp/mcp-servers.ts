import { and, asc, eq } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { McpServerEntry } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { checkOutboundUrl, type OutboundPolicy } from '../net/url-policy.ts';
import { getUser } from '../users/users.ts';
import { encryptHeaders } from './header-crypto.ts';
import { mcpServers, type CachedTool } from './schema.ts';
import type { McpServerInput, PublicMcpServer } from '../wire/mcp.ts';

/** An `mcp_servers` row as stored. */
export type McpServerRow = typeof mcpServers.$inferSelect;

export type { McpServerInput };

/** The id the API uses for a config-file server. */
export const configServerId = (name: string) => `config:${name}`;

/** The API shape of a stored row. */
export function toPublicServer(row: McpServerRow): PublicMcpServer {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    source: 'api',
    transport: row.transport,
    url: row.url,
    command: null,
    headerNames: row.headerNames,
    enabled: row.enabled,
    toolCount: row.tools ? row.tools.length : null,
    toolsRefreshedAt: row.toolsRefreshedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The API shape of a config-file stdio server (`tools` from the live connection when known). */
export function toPublicConfigServer(entry: McpServerEntry, tools: CachedTool[] | undefined): PublicMcpServer {
  return {
    id: configServerId(entry.name),
    workspaceId: null,
    name: entry.name,
    source: 'config',
    transport: 'stdio',
    url: null,
    command: entry.command,
    headerNames: [],
    enabled: true,
    toolCount: tools ? tools.length : null,
    toolsRefreshedAt: null,
    createdAt: null,
    updatedAt: null,
  };
}

/** Throws forbidden unless the principal is an owner or admin of their workspace. */
export async function requireAdmin(db: Db, principal: Principal): Promise<void> {
  const user = await getUser(db, principal.workspaceId, principal.userId);
  if (user.role === 'member') throw new AppError('forbidden', 'Only workspace owners and admins can manage MCP servers');
}

/** The workspace's stored servers, by name. */
export async function listServerRows(db: Db, workspaceId: string): Promise<McpServerRow[]> {
  return db.select().from(mcpServers).where(eq(mcpServers.workspaceId, workspaceId)).orderBy(asc(mcpServers.name));
}

/** One stored server of the workspace. Throws not_found (also for another workspace's id). */
export async function getServerRow(db: Db, workspaceId: string, id: string): Promise<McpServerRow> {
  const [row] = await db
    .select()
    .from(mcpServers)
    .where(and(eq(mcpServers.workspaceId, workspaceId), eq(mcpServers.id, id)));
  if (!row) throw notFound('MCP server');
  return row;
}

/** Deps of the write functions: the database, the URL policy, the header key, the config-file server names. */
export interface McpStoreDeps {
  db: Db;
  policy: OutboundPolicy;
  headerKey: Buffer;
  configNames: ReadonlySet<string>;
}

/**
 * Adds an HTTP server (admins). Throws forbidden, invalid_request (missing fields, URL refused as
 * invalid), forbidden (URL in a blocked range), conflict (name taken here or by a config server).
 */
export async function insertServer(
  deps: McpStoreDeps,
  principal: Principal,
  input: Required<Pick<McpServerInput, 'name' | 'url'>> & McpServerInput,
): Promise<McpServerRow> {
  await requireAdmin(deps.db, principal);
  await checkOutboundUrl(input.url, deps.policy);
  checkNameFree(deps, input.name);
  const id = uuidv7();
  const headers = input.headers ?? {};
  try {
    const [row] = await deps.db
      .insert(mcpServers)
      .values({
        id,
        workspaceId: principal.workspaceId,
        name: input.name,
        transport: input.transport ?? 'streamable-http',
        url: input.url,
        headersEncrypted: Object.keys(headers).length ? encryptHeaders(deps.headerKey, id, headers) : null,
        headerNames: Object.keys(headers),
        enabled: input.enabled ?? true,
        createdBy: principal.userId,
      })
      .returning();
    return row!;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('conflict', `An MCP server named "${input.name}" already exists in this workspace`);
    throw error;
  }
}

/** Changes a stored server (admins); a changed url, transport or headers drops the cached tools. Same errors as insert, plus not_found. */
export async function updateServerRow(
  deps: McpStoreDeps,
  principal: Principal,
  id: string,
  input: McpServerInput,
): Promise<McpServerRow> {
  await requireAdmin(deps.db, principal);
  const current = await getServerRow(deps.db, principal.workspaceId, id);
  if (input.url !== undefined) await checkOutboundUrl(input.url, deps.policy);
  if (input.name !== undefined && input.name !== current.name) checkNameFree(deps, input.name);
  const reachChanged = input.url !== undefined || input.transport !== undefined || input.headers !== undefined;
  try {
    const [row] = await deps.db
      .update(mcpServers)
      .set({
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.transport === undefined ? {} : { transport: input.transport }),
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
        ...(input.headers === undefined
          ? {}
          : {
              headersEncrypted: Object.keys(input.headers).length ? encryptHeaders(deps.headerKey, id, input.headers) : null,
              headerNames: Object.keys(input.headers),
            }),
        ...(reachChanged ? { tools: null, toolsRefreshedAt: null } : {}),
        updatedAt: new Date(),
      })
      .where(and(eq(mcpServers.workspaceId, principal.workspaceId), eq(mcpServers.id, id)))
      .returning();
    return row!;
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('conflict', `An MCP server named "${input.name}" already exists in this workspace`);
    throw error;
  }
}

/** Deletes a stored server (admins). Throws forbidden, not_found. */
export async function deleteServerRow(db: Db, principal: Principal, id: string): Promise<void> {
  await requireAdmin(db, principal);
  const deleted = await db
    .delete(mcpServers)
    .where(and(eq(mcpServers.workspaceId, principal.workspaceId), eq(mcpServers.id, id)))
    .returning({ id: mcpServers.id });
  if (deleted.length === 0) throw notFound('MCP server');
}

/** Stores a freshly listed catalogue on the row. */
export async function saveTools(db: Db, workspaceId: string, id: string, tools: CachedTool[]): Promise<void> {
  await db
    .update(mcpServers)
    .set({ tools, toolsRefreshedAt: new Date() })
    .where(and(eq(mcpServers.workspaceId, workspaceId), eq(mcpServers.id, id)));
}

function checkNameFree(deps: McpStoreDeps, name: string): void {
  if (deps.configNames.has(name)) throw new AppError('conflict', `"${name}" is the name of a server from the config file`);
}
