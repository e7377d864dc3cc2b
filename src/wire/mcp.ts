/**
 * The public shapes of MCP servers and their tools (docs/api.md, "MCP servers"), shared by the
 * server and the web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 * Times are ISO 8601 strings.
 */

/**
 * An MCP server as the API shows it. Header values never appear, only `headerNames`.
 * Config-file (stdio) servers have `source: 'config'`, id `config:<name>`, `workspaceId: null` and are read-only.
 */
export interface PublicMcpServer {
  id: string;
  workspaceId: string | null;
  name: string;
  source: 'api' | 'config';
  transport: 'streamable-http' | 'sse' | 'stdio';
  url: string | null;
  command: string | null;
  headerNames: string[];
  enabled: boolean;
  /** Tools in the cached catalogue; null before the server was first listed. */
  toolCount: number | null;
  toolsRefreshedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** A tool as an MCP server lists it (`tools/list`): `inputSchema` is its arguments' JSON Schema. */
export interface McpTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** What an admin may set on an HTTP MCP server. `headers` replaces all headers when present. */
export interface McpServerInput {
  name?: string;
  transport?: 'streamable-http' | 'sse';
  url?: string;
  headers?: Record<string, string>;
  enabled?: boolean;
}
