import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAgentWorld, type AgentWorld } from '../agents/support.ts';
import { mcpServerScript, startHttpMcpServer, type HttpMcpTestServer } from '../support/mcp-server.ts';

/**
 * An agent world (fake OpenAI provider) with MCP tools: the stdio test server `local` from the
 * config file, the Streamable HTTP test server added as `web`, and `down` (an allow-listed URL
 * where nothing listens).
 */
export interface ChainWorld extends AgentWorld {
  mcp: HttpMcpTestServer;
  /** Creates a direct conversation of alice with a new agent and returns both. */
  directWith(body: Record<string, unknown>): Promise<{ agent: any; conversationId: string }>;
  getRun(runId: string): Promise<any>;
}

/** The environment of a chain world's server, besides the provider's (for a restart on the same data). */
export function chainEnv(configFile: string, allowHosts: string[], env: Record<string, string> = {}): Record<string, string> {
  return {
    CHORUS_CONFIG_FILE: configFile,
    CHORUS_OUTBOUND_ALLOW_HOSTS: allowHosts.join(','),
    CHORUS_MCP_CALL_TIMEOUT_MS: '3000',
    ...env,
  };
}

/** Writes a config file naming the stdio test server `local`; returns its path. */
export function writeMcpConfig(): string {
  const configDir = mkdtempSync(path.join(tmpdir(), 'chorus-chain-config-'));
  const configFile = path.join(configDir, 'chorus.json');
  writeFileSync(
    configFile,
    JSON.stringify({ mcpServers: [{ name: 'local', command: process.execPath, args: [mcpServerScript] }] }),
  );
  return configFile;
}

export async function startChainWorld(
  options: { databaseUrl?: string; dataDir?: string; env?: Record<string, string> } = {},
): Promise<ChainWorld> {
  const mcp = await startHttpMcpServer();
  const gone = await startHttpMcpServer();
  await gone.close();
  const world = await startAgentWorld({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    env: chainEnv(writeMcpConfig(), [new URL(mcp.url).host, new URL(gone.url).host], options.env),
  });
  const add = async (name: string, url: string) => {
    const response = await world.server.request('POST', '/api/v1/mcp-servers', {
      token: world.alice.accessToken,
      body: { name, url },
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
  };
  await add('web', mcp.url);
  await add('down', gone.url);
  const close = world.close;
  return Object.assign(world, {
    mcp,
    async directWith(body: Record<string, unknown>) {
      const agent = await world.createAgent({ handle: `bot${Math.random().toString(36).slice(2, 8)}`, ...body });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      return { agent, conversationId };
    },
    async getRun(runId: string) {
      const response = await world.server.request('GET', `/api/v1/runs/${runId}`, { token: world.alice.accessToken });
      assert.equal(response.status, 200);
      return response.body;
    },
    async close() {
      await close();
      await mcp.close();
    },
  });
}
