import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHttpMcpServer, mcpServerScript, type HttpMcpTestServer } from '../support/mcp-server.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';

/** A Chorus node with one HTTP MCP test server allow-listed, one down address allow-listed, and the stdio test server in its config file. */
export interface McpWorld {
  server: TestServer;
  mcp: HttpMcpTestServer;
  /** An allow-listed Streamable HTTP URL where nothing listens. */
  downUrl: string;
  alice: Session;
  call(method: string, pathname: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** Starts the world (PGlite unless `databaseUrl`); `env` adds config (e.g. CHORUS_MCP_CALL_TIMEOUT_MS). */
export async function startMcpWorld(
  options: { env?: Record<string, string>; requireHeader?: { name: string; value: string }; databaseUrl?: string } = {},
): Promise<McpWorld> {
  const mcp = await startHttpMcpServer(options.requireHeader ? { requireHeader: options.requireHeader } : {});
  const gone = await startHttpMcpServer();
  await gone.close();
  const configDir = mkdtempSync(path.join(tmpdir(), 'chorus-mcp-config-'));
  const configFile = path.join(configDir, 'chorus.json');
  writeFileSync(
    configFile,
    JSON.stringify({ mcpServers: [{ name: 'local', command: process.execPath, args: [mcpServerScript] }] }),
  );
  const allow = [new URL(mcp.url).host, new URL(gone.url).host].join(',');
  const server = await startTestServer({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    env: { CHORUS_CONFIG_FILE: configFile, CHORUS_OUTBOUND_ALLOW_HOSTS: allow, ...options.env },
  });
  const alice = await server.register('acme', 'alice');
  return {
    server,
    mcp,
    downUrl: gone.url,
    alice,
    call: (method, pathname, body, token = alice.accessToken) => server.request(method, `/api/v1${pathname}`, { token, body }),
    async close() {
      await server.close();
      await mcp.close();
    },
  };
}

/** Resolves once `check` returns true, polling the condition (not a fixed sleep); fails after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
