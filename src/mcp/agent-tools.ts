import type { CallToolResult } from './mcp-connection.ts';

/**
 * A tool an agent may call, resolved from one of its `tools` refs.
 * `name` is model-safe (`[A-Za-z0-9_-]{1,64}`, unique within one resolution, e.g. `files__read_file`).
 * `call` resolves with the tool's result (a tool's own failure is `isError: true`, `text` its text
 * content joined by newlines); it rejects with AppError provider_error when the server is down,
 * times out (CHORUS_MCP_CALL_TIMEOUT_MS) or answers with a protocol error, and with `signal.reason` on abort.
 */
export interface AgentTool {
  /** The ref this tool came from, e.g. `mcp:files/read_file` (a `*` ref expands to one AgentTool per tool). */
  ref: string;
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  inputSchema: Record<string, unknown>;
  call(
    args: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<{ content: unknown[]; isError: boolean; text: string }>;
}

/** A ref that could not be resolved, with a readable reason. */
export interface ToolRefError {
  ref: string;
  message: string;
}

/** A parsed `mcp:<server>/<tool>` or `mcp:<server>/*` ref; undefined when `ref` is not of that form. */
export function parseToolRef(ref: string): { server: string; tool: string | '*' } | undefined {
  const match = /^mcp:([a-z0-9][a-z0-9_-]{0,62})\/(\*|[^/\s]{1,128})$/.exec(ref);
  return match ? { server: match[1]!, tool: match[2]! } : undefined;
}

/** `server__tool` reduced to model-safe characters and 64 chars, suffixed `_2`, `_3` … when `taken` has it. */
export function modelSafeName(server: string, tool: string, taken: Set<string>): string {
  const base = `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  let name = base;
  for (let suffix = 2; taken.has(name); suffix++) name = `${base.slice(0, 64 - String(suffix).length - 1)}_${suffix}`;
  taken.add(name);
  return name;
}

/** The text blocks of a result joined by newlines (what a model usually reads). */
export function resultText(result: CallToolResult): string {
  return result.content
    .flatMap((block) => {
      const { type, text } = block as { type?: unknown; text?: unknown };
      return type === 'text' && typeof text === 'string' ? [text] : [];
    })
    .join('\n');
}
