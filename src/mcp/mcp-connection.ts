import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error.ts';
import type { CachedTool } from './schema.ts';

/** How to reach one MCP server. HTTP targets carry the guarded fetch that re-checks the URL policy per request. */
export type McpTarget =
  | { transport: 'streamable-http' | 'sse'; url: string; headers: Record<string, string>; fetch: typeof fetch }
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string };

/** The result of tools/call as the MCP SDK returns it (content blocks, isError, optional structuredContent). */
export interface CallToolResult {
  content: unknown[];
  isError: boolean;
  structuredContent?: unknown;
}

/**
 * One lazily connected MCP client. Connects on first use, caches the tool catalogue, refetches it
 * when the server sends notifications/tools/list_changed (then calls `onToolsChanged`), and after a
 * transport failure drops the client so the next call reconnects. Every request is bounded by
 * `timeoutMs` and by the caller's AbortSignal; connecting (which may start a child process) by
 * the larger of `timeoutMs` and 10 s. Errors are AppError `provider_error` naming the server;
 * an abort rejects with the signal's reason.
 */
export class McpConnection {
  readonly #name: string;
  readonly #target: McpTarget;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #onToolsChanged: (tools: CachedTool[]) => void;
  #client: Promise<Client> | undefined;
  #tools: CachedTool[] | undefined;
  #closed = false;

  constructor(options: {
    name: string;
    target: McpTarget;
    timeoutMs: number;
    logger: Logger;
    onToolsChanged: (tools: CachedTool[]) => void;
  }) {
    this.#name = options.name;
    this.#target = options.target;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#onToolsChanged = options.onToolsChanged;
  }

  /** The catalogue listed last, if any (no I/O). */
  get #connectTimeoutMs(): number {
    return Math.max(this.#timeoutMs, 10_000);
  }

  get cachedTools(): CachedTool[] | undefined {
    return this.#tools;
  }

  /** The tool catalogue, from cache when connected before, else listed now (`refresh` forces a listing). */
  async listTools(options: { signal?: AbortSignal; refresh?: boolean } = {}): Promise<CachedTool[]> {
    if (this.#tools && !options.refresh && !this.#closed) return this.#tools;
    return this.#run('tools/list', options.signal, async (client, requestOptions) => {
      const tools: CachedTool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : undefined, requestOptions);
        for (const tool of page.tools) {
          tools.push({
            name: tool.name,
            description: tool.description,
            inputSchema: tool.inputSchema as Record<string, unknown>,
          });
        }
        cursor = page.nextCursor;
      } while (cursor);
      this.#tools = tools;
      return tools;
    });
  }

  /** Calls `tool` with `args`. A tool's own failure is `isError: true`; transport, protocol and timeout failures throw. */
  async callTool(tool: string, args: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<CallToolResult> {
    return this.#run(`tools/call ${tool}`, options.signal, async (client, requestOptions) => {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, requestOptions);
      return {
        content: Array.isArray(result.content) ? result.content : [],
        isError: result.isError === true,
        ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
      };
    });
  }

  /** Closes the client (and a stdio child process). Idempotent; later calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#tools = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.then(closeClient).catch(() => {});
  }

  async #run<T>(
    what: string,
    signal: AbortSignal | undefined,
    action: (client: Client, options: { timeout: number; signal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    if (this.#closed)
      throw new AppError(
        'provider_error',
        `MCP server "${this.#name}" was closed (reconfigured, deleted or shutting down); resolve its tools again`,
      );
    const client = await this.#connect(signal);
    try {
      return await action(client, { timeout: this.#timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#toAppError(what, error);
    }
  }

  #connect(signal: AbortSignal | undefined): Promise<Client> {
    this.#client ??= this.#open().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    const client = this.#client;
    if (!signal) return client;
    return new Promise<Client>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      client.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #open(): Promise<Client> {
    const sdk = await loadSdk();
    const client = new sdk.Client({ name: 'chorus', version: '1' });
    const transport = this.#createTransport(sdk);
    client.onclose = () => this.#forget(client);
    client.onerror = (error) => this.#logger.debug({ err: error, mcpServer: this.#name }, 'MCP transport error');
    client.setNotificationHandler(sdk.ToolListChangedNotificationSchema, async () => {
      this.#tools = undefined;
      try {
        this.#onToolsChanged(await this.listTools({ refresh: true }));
      } catch (error) {
        this.#logger.warn({ err: error, mcpServer: this.#name }, 'MCP tool list refresh failed');
      }
    });
    try {
      await client.connect(transport, { timeout: this.#connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => {});
      throw this.#toAppError('connect', error);
    }
    return client;
  }

  #forget(client: Client): void {
    void this.#client?.then(
      (current) => {
        if (current === client) {
          this.#client = undefined;
          this.#tools = undefined;
        }
      },
      () => {},
    );
  }

  #createTransport(sdk: McpSdk): Transport {
    const target = this.#target;
    if (target.transport === 'stdio') {
      const transport = new sdk.StdioClientTransport({
        command: target.command,
        args: target.args,
        env: { ...inheritedEnv(), ...target.env },
        ...(target.cwd ? { cwd: target.cwd } : {}),
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) =>
        this.#logger.debug({ mcpServer: this.#name, stderr: chunk.toString('utf8') }, 'MCP server stderr'),
      );
      return transport;
    }
    const url = new URL(target.url);
    const requestInit = { headers: target.headers };
    if (target.transport === 'sse') return new sdk.SSEClientTransport(url, { requestInit, fetch: target.fetch });
    return new sdk.StreamableHTTPClientTransport(url, {
      requestInit,
      fetch: target.fetch,
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 1000,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 1,
      },
    });
  }

  #toAppError(what: string, error: unknown): AppError {
    if (error instanceof AppError) return error;
    // An McpError comes from a client, so the SDK is loaded when there is one.
    const McpError = loadedSdk?.McpError;
    if (McpError && error instanceof McpError && error.code === loadedSdk!.ErrorCode.RequestTimeout) {
      return new AppError(
        'provider_error',
        `MCP server "${this.#name}" did not answer ${what} within ${what === 'connect' ? this.#connectTimeoutMs : this.#timeoutMs} ms`,
        {
          cause: error,
        },
      );
    }
    if (McpError && error instanceof McpError && what !== 'connect') {
      return new AppError(
        'provider_error',
        `MCP server "${this.#name}" answered ${what} with an error: ${error.message.replace(/^(MCP error -?\d+: )+/, '')}`,
        {
          cause: error,
          details: { mcpServer: this.#name, mcpCode: error.code },
        },
      );
    }
    // Anything else is the transport failing: drop the client so the next call reconnects.
    const client = this.#client;
    this.#client = undefined;
    this.#tools = undefined;
    void client?.then((connected) => connected.close()).catch(() => {});
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? `${error.message} (${error.cause.message})`
          : error.message
        : String(error);
    return new AppError('provider_error', `MCP server "${this.#name}" is unreachable (${what}): ${reason}`, {
      cause: error,
      details: { mcpServer: this.#name },
    });
  }
}

/** The parts of the MCP SDK used here: loaded on the first connection, so a server without MCP servers never loads it (~5 MB of heap). */
type McpSdk = Awaited<ReturnType<typeof importSdk>>;
let loadedSdk: McpSdk | undefined;
let loadingSdk: Promise<McpSdk> | undefined;

async function importSdk() {
  const [client, sse, stdio, streamableHttp, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/sse.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return {
    Client: client.Client,
    SSEClientTransport: sse.SSEClientTransport,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: streamableHttp.StreamableHTTPClientTransport,
    ErrorCode: types.ErrorCode,
    McpError: types.McpError,
    ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema,
  };
}

function loadSdk(): Promise<McpSdk> {
  loadingSdk ??= importSdk().then((sdk) => (loadedSdk = sdk));
  return loadingSdk;
}

/** The child gets a minimal environment (PATH, HOME …) plus its own `env`, never the server's secrets. */
function inheritedEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot', 'USERPROFILE', 'NODE_OPTIONS'];
  return Object.fromEntries(keep.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])));
}

/** Ends a Streamable HTTP session politely (DELETE, so the server frees it; at most 1 s), then closes the client. */
async function closeClient(client: Client): Promise<void> {
  const transport = client.transport;
  if (loadedSdk && transport instanceof loadedSdk.StreamableHTTPClientTransport) {
    // Bounded: a server that does not answer must not hold up shutdown.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)));
    await Promise.race([transport.terminateSession().catch(() => {}), bound]);
    clearTimeout(timer);
  }
  await client.close();
}
