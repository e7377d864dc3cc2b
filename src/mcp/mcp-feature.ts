/**
 * MCP tools for agents: HTTP MCP servers per workspace (API), stdio servers from the config file
 * (`mcpServers`, every workspace), lazily connected clients with a cached tool catalogue.
 *
 * Public surface (on `AppContext.mcp`):
 * - `resolveAgentTools(workspaceId, refs)` → `{ tools: AgentTool[], errors: {ref, message}[] }`.
 *   `refs` are an agent's `tools` strings: `mcp:<server>/<tool>` or `mcp:<server>/*`. Each ref that
 *   cannot be resolved (bad form, unknown or disabled server, server down, unknown tool) becomes one
 *   entry of `errors`; the other refs still resolve, so one broken server never hides another's
 *   tools. Never throws for a ref. Servers are listed concurrently; a down one costs at most
 *   CHORUS_MCP_CALL_TIMEOUT_MS. See `AgentTool` (agent-tools.ts) for `call`.
 * - `validateToolRefs(workspaceId, refs)` for saving an agent: checks the form and that each server
 *   exists in the workspace (or the config) and, when its catalogue is cached, that the tool is in
 *   it; does not connect. Throws invalid_request with `details: [{ path: 'tools', ref, message }]`.
 * - CRUD and direct calls used by the routes (mcp-routes.ts).
 */
import type { Logger } from 'pino';
import type { Principal } from '../auth/auth-service.ts';
import type { TokenSigner } from '../auth/tokens.ts';
import type { Config, McpServerEntry } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import { createGuardedFetch } from '../net/guarded-fetch.ts';
import { createOutboundPolicy } from '../net/url-policy.ts';
import { modelSafeName, parseToolRef, resultText, type AgentTool, type ToolRefError } from './agent-tools.ts';
import { decryptHeaders } from './header-crypto.ts';
import { McpConnection, type CallToolResult, type McpTarget } from './mcp-connection.ts';
import {
  configServerId,
  deleteServerRow,
  getServerRow,
  insertServer,
  listServerRows,
  requireAdmin,
  saveTools,
  toPublicConfigServer,
  toPublicServer,
  updateServerRow,
  type McpServerInput,
  type McpServerRow,
  type McpStoreDeps,
} from './mcp-servers.ts';
import type { CachedTool } from './schema.ts';
import type { PublicMcpServer } from '../wire/mcp.ts';

/** The MCP feature object; see the file docstring. */
export type McpFeature = ReturnType<typeof createMcpFeature>;

/** A server the feature can connect to, stored or from the config file. */
type KnownServer = { kind: 'row'; row: McpServerRow } | { kind: 'config'; entry: McpServerEntry };

/** Builds the feature. Call `close()` at shutdown (closes every client and stdio child). */
export function createMcpFeature(deps: { db: Db; config: Config; logger: Logger; signer: TokenSigner }) {
  const { db, config, logger } = deps;
  const policy = createOutboundPolicy(config.outbound.allowHosts);
  const guardedFetch = createGuardedFetch(policy);
  const headerKey = deps.signer.deriveKey('mcp-headers');
  const configEntries = new Map(config.mcp.stdioServers.map((entry) => [entry.name, entry]));
  const store: McpStoreDeps = { db, policy, headerKey, configNames: new Set(configEntries.keys()) };
  const connections = new Map<string, { connection: McpConnection; version: string }>();

  function connectionFor(server: KnownServer): McpConnection {
    const key = server.kind === 'row' ? server.row.id : configServerId(server.entry.name);
    const version = server.kind === 'row' ? server.row.updatedAt.toISOString() : 'config';
    const existing = connections.get(key);
    if (existing && existing.version === version) return existing.connection;
    if (existing) void existing.connection.close();
    const name = server.kind === 'row' ? server.row.name : server.entry.name;
    const connection = new McpConnection({
      name,
      target: targetOf(server),
      timeoutMs: config.mcp.callTimeoutMs,
      logger,
      onToolsChanged: (tools) => {
        if (server.kind !== 'row') return;
        saveTools(db, server.row.workspaceId, server.row.id, tools).catch((error: unknown) =>
          logger.warn({ err: error, mcpServer: name }, 'saving the MCP tool catalogue failed'),
        );
      },
    });
    connections.set(key, { connection, version });
    return connection;
  }

  function targetOf(server: KnownServer): McpTarget {
    if (server.kind === 'config') {
      const { command, args, env, cwd } = server.entry;
      return { transport: 'stdio', command, args, env, ...(cwd ? { cwd } : {}) };
    }
    const { row } = server;
    let headers: Record<string, string> = {};
    try {
      if (row.headersEncrypted) headers = decryptHeaders(headerKey, row.id, row.headersEncrypted);
    } catch (error) {
      throw new AppError(
        'invalid_request',
        `The headers of MCP server "${row.name}" cannot be decrypted (was the server secret changed?); set them again`,
        {
          cause: error,
        },
      );
    }
    return { transport: row.transport, url: row.url, headers, fetch: guardedFetch };
  }

  async function dropConnection(key: string): Promise<void> {
    const existing = connections.get(key);
    connections.delete(key);
    await existing?.connection.close();
  }

  async function findServer(workspaceId: string, id: string): Promise<KnownServer> {
    if (id.startsWith('config:')) {
      const entry = configEntries.get(id.slice('config:'.length));
      if (!entry) throw notFound('MCP server');
      return { kind: 'config', entry };
    }
    return { kind: 'row', row: await getServerRow(db, workspaceId, id) };
  }

  async function listTools(
    server: KnownServer,
    options: { signal?: AbortSignal; refresh?: boolean } = {},
  ): Promise<CachedTool[]> {
    if (server.kind === 'row' && !server.row.enabled)
      throw new AppError('invalid_request', `MCP server "${server.row.name}" is disabled`);
    const connection = connectionFor(server);
    const tools = await connection.listTools(options);
    if (server.kind === 'row' && (options.refresh || !server.row.toolsRefreshedAt))
      await saveTools(db, server.row.workspaceId, server.row.id, tools);
    return tools;
  }

  async function serversByName(workspaceId: string): Promise<Map<string, KnownServer>> {
    const byName = new Map<string, KnownServer>();
    for (const entry of configEntries.values()) byName.set(entry.name, { kind: 'config', entry });
    for (const row of await listServerRows(db, workspaceId)) byName.set(row.name, { kind: 'row', row });
    return byName;
  }

  return {
    /** Every server the principal's workspace can use: config-file ones first, then stored ones by name. */
    async listServers(principal: Principal): Promise<PublicMcpServer[]> {
      const rows = await listServerRows(db, principal.workspaceId);
      const fromConfig = [...configEntries.values()].map((entry) =>
        toPublicConfigServer(entry, connections.get(configServerId(entry.name))?.connection.cachedTools),
      );
      return [...fromConfig, ...rows.map(toPublicServer)];
    },

    /** One server (stored id or `config:<name>`). Throws not_found. */
    async getServer(principal: Principal, id: string): Promise<PublicMcpServer> {
      const server = await findServer(principal.workspaceId, id);
      return server.kind === 'row'
        ? toPublicServer(server.row)
        : toPublicConfigServer(server.entry, connections.get(id)?.connection.cachedTools);
    },

    /** Adds an HTTP server (admins). See insertServer for errors. */
    async createServer(
      principal: Principal,
      input: Required<Pick<McpServerInput, 'name' | 'url'>> & McpServerInput,
    ): Promise<PublicMcpServer> {
      return toPublicServer(await insertServer(store, principal, input));
    },

    /** Changes a stored server (admins); its client reconnects with the new settings. Config servers are read-only (invalid_request). */
    async updateServer(principal: Principal, id: string, input: McpServerInput): Promise<PublicMcpServer> {
      if (id.startsWith('config:')) throw new AppError('invalid_request', 'Servers from the config file are read-only');
      const row = await updateServerRow(store, principal, id, input);
      await dropConnection(id);
      return toPublicServer(row);
    },

    /** Deletes a stored server (admins) and closes its client. Throws forbidden, not_found, invalid_request (config server). */
    async deleteServer(principal: Principal, id: string): Promise<void> {
      if (id.startsWith('config:')) throw new AppError('invalid_request', 'Servers from the config file are read-only');
      await deleteServerRow(db, principal, id);
      await dropConnection(id);
    },

    /** The server's tools (members may list). Throws not_found, invalid_request (disabled), provider_error (down, timeout). */
    async listServerTools(
      principal: Principal,
      id: string,
      options: { refresh?: boolean; signal?: AbortSignal } = {},
    ): Promise<CachedTool[]> {
      return listTools(await findServer(principal.workspaceId, id), options);
    },

    /**
     * Calls one tool directly (admins) and returns the MCP CallToolResult. Throws forbidden, not_found
     * (server, or tool not in its catalogue), invalid_request (disabled), provider_error.
     */
    async callServerTool(
      principal: Principal,
      id: string,
      tool: string,
      args: Record<string, unknown>,
      options: { signal?: AbortSignal } = {},
    ): Promise<CallToolResult> {
      const server = await findServer(principal.workspaceId, id);
      await requireAdmin(db, principal);
      let tools = await listTools(server, options);
      if (!tools.some((candidate) => candidate.name === tool)) tools = await listTools(server, { ...options, refresh: true });
      if (!tools.some((candidate) => candidate.name === tool)) throw notFound(`Tool "${tool}"`);
      return connectionFor(server).callTool(tool, args, options);
    },

    async resolveAgentTools(
      workspaceId: string,
      refs: readonly string[],
    ): Promise<{ tools: AgentTool[]; errors: ToolRefError[] }> {
      const byName = await serversByName(workspaceId);
      const errors: ToolRefError[] = [];
      const wanted = new Map<string, { server: KnownServer; refs: Array<{ ref: string; tool: string }> }>();
      for (const ref of refs) {
        const parsed = parseToolRef(ref);
        if (!parsed) {
          errors.push({ ref, message: 'not an MCP tool reference (expected mcp:<server>/<tool> or mcp:<server>/*)' });
          continue;
        }
        const server = byName.get(parsed.server);
        if (!server) errors.push({ ref, message: `no MCP server named "${parsed.server}" in this workspace` });
        else if (server.kind === 'row' && !server.row.enabled)
          errors.push({ ref, message: `MCP server "${parsed.server}" is disabled` });
        else {
          const group = wanted.get(parsed.server) ?? { server, refs: [] };
          group.refs.push({ ref, tool: parsed.tool });
          wanted.set(parsed.server, group);
        }
      }
      const taken = new Set<string>();
      const seen = new Set<string>();
      const tools: AgentTool[] = [];
      const listed = await Promise.all(
        [...wanted.entries()].map(async ([serverName, group]) => {
          try {
            return { serverName, group, catalogue: await listTools(group.server) };
          } catch (error) {
            return { serverName, group, error: error instanceof Error ? error.message : String(error) };
          }
        }),
      );
      for (const { serverName, group, catalogue, error } of listed) {
        for (const { ref, tool } of group.refs) {
          if (!catalogue) {
            errors.push({ ref, message: error ?? 'unavailable' });
            continue;
          }
          const matches = tool === '*' ? catalogue : catalogue.filter((candidate) => candidate.name === tool);
          if (matches.length === 0) errors.push({ ref, message: `MCP server "${serverName}" has no tool "${tool}"` });
          for (const match of matches) {
            if (seen.has(`${serverName}/${match.name}`)) continue;
            seen.add(`${serverName}/${match.name}`);
            const connection = connectionFor(group.server);
            tools.push({
              ref,
              name: modelSafeName(serverName, match.name, taken),
              description: match.description ?? '',
              inputSchema: match.inputSchema,
              async call(args, options = {}) {
                const result = await connection.callTool(match.name, args, options);
                return { content: result.content, isError: result.isError, text: resultText(result) };
              },
            });
          }
        }
      }
      return { tools, errors };
    },

    async validateToolRefs(workspaceId: string, refs: readonly string[]): Promise<void> {
      const byName = await serversByName(workspaceId);
      const problems: ToolRefError[] = [];
      for (const ref of refs) {
        const parsed = parseToolRef(ref);
        const server = parsed && byName.get(parsed.server);
        if (!parsed) problems.push({ ref, message: 'expected mcp:<server>/<tool> or mcp:<server>/*' });
        else if (!server) problems.push({ ref, message: `no MCP server named "${parsed.server}" in this workspace` });
        else if (parsed.tool !== '*') {
          const cached =
            server.kind === 'row' ? server.row.tools : connections.get(configServerId(server.entry.name))?.connection.cachedTools;
          if (cached && !cached.some((tool) => tool.name === parsed.tool))
            problems.push({ ref, message: `MCP server "${parsed.server}" has no tool "${parsed.tool}"` });
        }
      }
      if (problems.length) {
        throw new AppError(
          'invalid_request',
          `Unknown tools: ${problems.map((problem) => `${problem.ref} (${problem.message})`).join('; ')}`,
          {
            details: problems.map((problem) => ({ path: 'tools', ...problem })),
          },
        );
      }
    },

    /** Closes every client and stdio child process. */
    async close(): Promise<void> {
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((entry) => entry.connection.close()));
    },
  };
}
