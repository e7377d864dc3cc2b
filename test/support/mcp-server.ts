import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * A small real MCP server for tests, written with the official SDK. Tools:
 * - `echo {…any}` → text content: the JSON of its arguments; structuredContent: the arguments
 * - `fail {message?}` → an `isError: true` result
 * - `throw` → a JSON-RPC protocol error (code -32603, "boom")
 * - `hang` → never answers; resolves only when the client cancels (abort or timeout)
 * - `add_tool {name}` → registers tool `name` (echoes like `echo`) and sends notifications/tools/list_changed
 * - `counter_increment {by?}` → increments a counter kept by the server process, returns the new value as text
 *
 * Run as a stdio child process: `node test/support/mcp-server.ts` (stdio is the default when run
 * directly). Over HTTP: `await startHttpMcpServer({ port? })` → `{ url, sseUrl, close, state }` on 127.0.0.1:0
 * (Streamable HTTP at `/mcp`, legacy SSE at `/sse`); every session shares one state, so `add_tool`
 * in one session shows in the others. `requireHeader` makes requests without that header answer 401.
 */
export const mcpServerScript = fileURLToPath(import.meta.url);

/** State shared by every session of one test server. */
export interface McpTestState {
  counter: number;
  addedTools: string[];
  /** How many `hang` calls were cancelled by the client. */
  hangsCancelled: number;
  /** Headers of the last HTTP request (lowercased names). */
  lastHeaders: Record<string, string | string[] | undefined>;
}

function echoResult(args: unknown) {
  return { content: [{ type: 'text' as const, text: JSON.stringify(args) }], structuredContent: args as Record<string, unknown> };
}

/** One McpServer instance (one per session) over the shared `state`. */
export function createTestMcpServer(state: McpTestState, live: Set<McpServer> = new Set()): McpServer {
  const server = new McpServer({ name: 'chorus-test-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  const registerEcho = (target: McpServer, name: string) =>
    target.registerTool(
      name,
      { description: `Echoes its arguments (${name})`, inputSchema: z.object({}).passthrough() },
      async (args) => echoResult(args),
    );
  registerEcho(server, 'echo');
  server.registerTool(
    'fail',
    { description: 'Always fails with isError', inputSchema: { message: z.string().optional() } },
    async ({ message }) => ({
      content: [{ type: 'text', text: message ?? 'this tool failed' }],
      isError: true,
    }),
  );
  server.registerTool('throw', { description: 'Answers with a protocol error' }, async () => ({ content: [] }));
  server.registerTool('hang', { description: 'Never answers until cancelled' }, async (extra) => {
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    state.hangsCancelled += 1;
    return { content: [{ type: 'text', text: 'cancelled' }] };
  });
  server.registerTool(
    'add_tool',
    {
      description: 'Registers a new echo tool and notifies tools/list_changed',
      inputSchema: { name: z.string().regex(/^[a-z_]+$/) },
    },
    async ({ name }) => {
      if (!state.addedTools.includes(name)) state.addedTools.push(name);
      for (const instance of live) {
        if (instance === server) continue;
        registerEcho(instance, name);
      }
      registerEcho(server, name);
      return { content: [{ type: 'text', text: `added ${name}` }] };
    },
  );
  server.registerTool(
    'counter_increment',
    { description: 'Adds `by` (default 1) to a server-side counter', inputSchema: { by: z.number().int().optional() } },
    async ({ by }) => {
      state.counter += by ?? 1;
      return { content: [{ type: 'text', text: String(state.counter) }], structuredContent: { value: state.counter } };
    },
  );
  for (const name of state.addedTools) registerEcho(server, name);

  // McpServer turns every thrown error into an isError result; `throw` must be a real JSON-RPC error.
  const handlers = (
    server.server as unknown as { _requestHandlers: Map<string, (request: unknown, extra: unknown) => Promise<unknown>> }
  )._requestHandlers;
  const callTool = handlers.get('tools/call')!;
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name === 'throw') throw new McpError(ErrorCode.InternalError, 'boom');
    return callTool(request, extra) as never;
  });
  live.add(server);
  return server;
}

/** A fresh state: counter 0, no added tools. */
export function createMcpTestState(): McpTestState {
  return { counter: 0, addedTools: [], hangsCancelled: 0, lastHeaders: {} };
}

/** A running HTTP test server. `close()` ends every session and stops listening. */
export interface HttpMcpTestServer {
  /** Streamable HTTP endpoint, e.g. http://127.0.0.1:41234/mcp */
  url: string;
  /** Legacy SSE endpoint, e.g. http://127.0.0.1:41234/sse */
  sseUrl: string;
  state: McpTestState;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Starts the test server over Streamable HTTP (`/mcp`, stateful sessions) and SSE (`/sse` + `/messages`) on 127.0.0.1:0. */
export async function startHttpMcpServer(
  options: { requireHeader?: { name: string; value: string }; port?: number } = {},
): Promise<HttpMcpTestServer> {
  const state = createMcpTestState();
  const live = new Set<McpServer>();
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  const httpServer: Server = createServer(async (request, response) => {
    try {
      state.lastHeaders = { ...request.headers };
      const required = options.requireHeader;
      if (required && request.headers[required.name.toLowerCase()] !== required.value) {
        response.writeHead(401).end('missing credentials');
        return;
      }
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/mcp') {
        const body = request.method === 'POST' ? await readJson(request) : undefined;
        const sessionId = request.headers['mcp-session-id'];
        let transport = typeof sessionId === 'string' ? streamable.get(sessionId) : undefined;
        if (!transport) {
          if (sessionId) {
            response.writeHead(404).end('unknown session');
            return;
          }
          const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void streamable.set(id, created),
          });
          const server = createTestMcpServer(state, live);
          created.onclose = () => {
            if (created.sessionId) streamable.delete(created.sessionId);
            live.delete(server);
          };
          await server.connect(created);
          transport = created;
        }
        await transport.handleRequest(request, response, body);
        return;
      }
      if (url.pathname === '/sse' && request.method === 'GET') {
        const transport = new SSEServerTransport('/messages', response);
        const server = createTestMcpServer(state, live);
        sse.set(transport.sessionId, transport);
        response.on('close', () => {
          sse.delete(transport.sessionId);
          live.delete(server);
        });
        await server.connect(transport);
        return;
      }
      if (url.pathname === '/messages' && request.method === 'POST') {
        const transport = sse.get(url.searchParams.get('sessionId') ?? '');
        if (!transport) {
          response.writeHead(404).end('unknown session');
          return;
        }
        await transport.handlePostMessage(request, response, await readJson(request));
        return;
      }
      response.writeHead(404).end();
    } catch (error) {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    state,
    async close() {
      for (const transport of [...streamable.values(), ...sse.values()]) await transport.close().catch(() => {});
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === mcpServerScript) {
  const server = createTestMcpServer(createMcpTestState());
  await server.connect(new StdioServerTransport());
}
