import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local HTTP servers that speak the real provider wire formats, scripted per test:
 * OpenAI Chat Completions SSE (`POST /v1/chat/completions`, `data: {...}` lines, usage chunk,
 * `data: [DONE]`) and Anthropic Messages SSE (`POST /v1/messages`, `event:` + `data:` pairs).
 * The OpenAI wire also answers `POST /v1/embeddings` with deterministic vectors (`fakeEmbedding`).
 * Nothing leaves the machine.
 */

/** One thing the fake does while streaming a reply. */
export type ScriptStep =
  | { text: string }
  | { toolCall: { id: string; name: string; argumentChunks: string[] } }
  /** Waits until the promise settles (lets a test hold a stream open deterministically). */
  | { gate: Promise<unknown> }
  | { delayMs: number }
  /** Writes these bytes verbatim (malformed lines, partial JSON). */
  | { raw: string }
  /** Stops sending and keeps the connection open until the client goes away. */
  | { stall: true };

/** How the fake answers one request. */
export interface ReplyScript {
  /** HTTP status; anything >= 400 answers with a provider error body instead of a stream. */
  status?: number;
  headers?: Record<string, string>;
  errorMessage?: string;
  steps?: ScriptStep[];
  /** Token usage to report; null sends no usage chunk (OpenAI wire only), like some compatible servers. */
  usage?: { inputTokens: number; outputTokens: number } | null;
  /** Ends the stream normally (finish reason, usage, `[DONE]` / `message_stop`). Default true. */
  finish?: boolean;
}

/** A request the fake received. `aborted` resolves when the client closed it before the end. */
export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  aborted: Promise<void>;
  isAborted: () => boolean;
  /** Resolves when the fake has finished answering (normally or by abort). */
  ended: Promise<void>;
}

type Wire = 'openai' | 'anthropic';

/** A scripted provider stand-in. `url` is the base URL to configure (ends in `/v1`). */
export class FakeProvider {
  readonly wire: Wire;
  readonly requests: RecordedRequest[] = [];
  /** Requests to `/v1/embeddings` (kept apart from the chat requests above). */
  readonly embeddingRequests: RecordedRequest[] = [];
  url = '';
  #server: Server;
  #scripts: ReplyScript[] = [];
  #fallback: (request: RecordedRequest) => ReplyScript = () => ({ steps: [{ text: 'ok' }] });
  #waiters: Array<(request: RecordedRequest) => void> = [];

  constructor(wire: Wire) {
    this.wire = wire;
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
    return this;
  }

  /** Queues scripts answered in order, one per request; after them, the fallback answers. */
  enqueue(...scripts: ReplyScript[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  /** Sets what answers when the queue is empty (default: streams "ok"). */
  setFallback(fallback: (request: RecordedRequest) => ReplyScript): this {
    this.#fallback = fallback;
    return this;
  }

  /** Resolves with the `index`-th request (0-based) once it has arrived. */
  async request(index: number): Promise<RecordedRequest> {
    while (this.requests.length <= index) await new Promise<RecordedRequest>((resolve) => this.#waiters.push(resolve));
    return this.requests[index];
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    let aborted = false;
    let markAborted!: () => void;
    let markEnded!: () => void;
    const recorded: RecordedRequest = {
      path: request.url ?? '',
      headers: request.headers,
      body,
      aborted: new Promise<void>((resolve) => (markAborted = resolve)),
      isAborted: () => aborted,
      ended: new Promise<void>((resolve) => (markEnded = resolve)),
    };
    response.on('close', () => {
      if (!response.writableFinished) {
        aborted = true;
        markAborted();
      }
      markEnded();
    });
    if (this.wire === 'openai' && recorded.path.endsWith('/embeddings')) {
      this.embeddingRequests.push(recorded);
      const inputs = (body as { input: string | string[] }).input;
      const values = Array.isArray(inputs) ? inputs : [inputs];
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          data: values.map((value, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(value) })),
          model: (body as { model?: string }).model ?? 'fake-embedding',
          usage: { prompt_tokens: values.length, total_tokens: values.length },
        }),
      );
      return;
    }
    this.requests.push(recorded);
    for (const waiter of this.#waiters.splice(0)) waiter(recorded);
    const script = this.#scripts.shift() ?? this.#fallback(recorded);
    try {
      await this.#answer(script, response, () => aborted);
    } catch {
      // the client went away mid-answer
    }
  }

  async #answer(script: ReplyScript, response: ServerResponse, isAborted: () => boolean): Promise<void> {
    const status = script.status ?? 200;
    if (status >= 400) {
      response.writeHead(status, { 'content-type': 'application/json', ...script.headers });
      response.end(JSON.stringify(this.#errorBody(status, script.errorMessage ?? `fake error ${status}`)));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...script.headers });
    const encoder = this.wire === 'openai' ? new OpenAIEncoder() : new AnthropicEncoder();
    response.write(encoder.start(script));
    for (const step of script.steps ?? []) {
      if (isAborted()) return;
      if ('text' in step) response.write(encoder.text(step.text));
      else if ('toolCall' in step) response.write(encoder.toolCall(step.toolCall));
      else if ('raw' in step) response.write(step.raw);
      else if ('gate' in step) await step.gate.catch(() => undefined);
      else if ('delayMs' in step) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      else if ('stall' in step) return;
    }
    if (isAborted()) return;
    if (script.finish === false) {
      response.end();
      return;
    }
    response.end(encoder.finish(script));
  }

  #errorBody(status: number, message: string): unknown {
    if (this.wire === 'anthropic') {
      const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
      return { type: 'error', error: { type, message } };
    }
    const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error: { message, type, param: null, code: type } };
  }
}

class OpenAIEncoder {
  #id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  #created = Math.floor(Date.now() / 1000);
  #sawToolCall = false;
  #toolIndex = 0;

  #chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
    const payload = {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: 'fake-model',
      choices,
      ...extra,
    };
    return `data: ${JSON.stringify(payload)}\n\n`;
  }

  start(_script: ReplyScript): string {
    return this.#chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  }

  text(text: string): string {
    return this.#chunk([{ index: 0, delta: { content: text }, finish_reason: null }]);
  }

  toolCall(call: { id: string; name: string; argumentChunks: string[] }): string {
    this.#sawToolCall = true;
    const index = this.#toolIndex++;
    let out = this.#chunk([
      {
        index: 0,
        delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
        finish_reason: null,
      },
    ]);
    for (const piece of call.argumentChunks) {
      out += this.#chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish_reason: null }]);
    }
    return out;
  }

  finish(script: ReplyScript): string {
    const finishChunk = this.#chunk([{ index: 0, delta: {}, finish_reason: this.#sawToolCall ? 'tool_calls' : 'stop' }]);
    if (script.usage === null) return finishChunk + 'data: [DONE]\n\n';
    const usage = script.usage ?? { inputTokens: 10, outputTokens: 5 };
    return (
      finishChunk +
      this.#chunk([], {
        usage: {
          prompt_tokens: usage.inputTokens,
          completion_tokens: usage.outputTokens,
          total_tokens: usage.inputTokens + usage.outputTokens,
        },
      }) +
      'data: [DONE]\n\n'
    );
  }
}

class AnthropicEncoder {
  #blockOpen = false;
  #index = 0;

  #event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  }

  start(script: ReplyScript): string {
    const inputTokens = script.usage?.inputTokens ?? 10;
    return (
      this.#event('message_start', {
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          model: 'fake-claude',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: inputTokens, output_tokens: 1 },
        },
      }) + this.#event('ping', {})
    );
  }

  text(text: string): string {
    let out = '';
    if (!this.#blockOpen) {
      out += this.#event('content_block_start', { index: this.#index, content_block: { type: 'text', text: '' } });
      this.#blockOpen = true;
    }
    return out + this.#event('content_block_delta', { index: this.#index, delta: { type: 'text_delta', text } });
  }

  toolCall(call: { id: string; name: string; argumentChunks: string[] }): string {
    let out = this.#closeBlock();
    out += this.#event('content_block_start', {
      index: this.#index,
      content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
    });
    for (const piece of call.argumentChunks) {
      out += this.#event('content_block_delta', { index: this.#index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    out += this.#event('content_block_stop', { index: this.#index });
    this.#index++;
    return out;
  }

  #closeBlock(): string {
    if (!this.#blockOpen) return '';
    this.#blockOpen = false;
    return this.#event('content_block_stop', { index: this.#index++ });
  }

  finish(script: ReplyScript): string {
    const outputTokens = script.usage?.outputTokens ?? 5;
    return (
      this.#closeBlock() +
      this.#event('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: outputTokens },
      }) +
      this.#event('message_stop', {})
    );
  }
}

/** Starts a fake OpenAI Chat Completions server on 127.0.0.1:0. */
export function startFakeOpenAI(): Promise<FakeProvider> {
  return new FakeProvider('openai').listen();
}

/** Starts a fake Anthropic Messages server on 127.0.0.1:0. */
export function startFakeAnthropic(): Promise<FakeProvider> {
  return new FakeProvider('anthropic').listen();
}

/** A promise with its resolve function, for `gate` steps. */
export function createGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A reply whose text is `value` as JSON: what a model answers under structured output (`response_format`). */
export function jsonReply(value: unknown, usage?: { inputTokens: number; outputTokens: number }): ReplyScript {
  return { steps: [{ text: JSON.stringify(value) }], ...(usage ? { usage } : {}) };
}

/** A reply that only calls tools, each `{name, args}` (arguments streamed in two chunks), ids `call_1`, `call_2` … */
export function toolCallReply(...calls: Array<{ name: string; args: Record<string, unknown> }>): ReplyScript {
  return {
    steps: calls.map((call, index) => {
      const json = JSON.stringify(call.args);
      const middle = Math.floor(json.length / 2);
      return {
        toolCall: { id: `call_${index + 1}`, name: call.name, argumentChunks: [json.slice(0, middle), json.slice(middle)] },
      };
    }),
  };
}

/**
 * The fake's embedding of a text: a 64-dimensional bag of words (lowercased words, a trailing "s"
 * dropped, each hashed to one dimension). Texts sharing words are close, so rankings by it are
 * predictable in tests, and the same text always gives the same vector.
 */
export function fakeEmbedding(text: string): number[] {
  const vector = new Array<number>(64).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const stem = word.length > 3 ? word.replace(/s$/, '') : word;
    let hash = 2166136261;
    for (const char of stem) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
    vector[(hash >>> 0) % 64]! += 1;
  }
  return vector;
}
