import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

/** Statuses whose responses have no body (the Fetch standard's "null body status"). */
const nullBodyStatuses = new Set([101, 204, 205, 304]);

const sentListeners = new WeakMap<AbortSignal, () => void>();

/**
 * Calls `listener` once, when a request made by this module's fetch with `signal` has been handed
 * to the socket (or has failed before that). The SDK passes a call's `abortSignal` to `fetch`
 * unchanged, so a caller can learn when its model request is out, e.g. to run other work after it.
 */
export function onRequestSent(signal: AbortSignal, listener: () => void): void {
  sentListeners.set(signal, listener);
}

function notifySent(signal: AbortSignal | undefined): void {
  if (!signal) return;
  const listener = sentListeners.get(signal);
  sentListeners.delete(signal);
  listener?.();
}

/**
 * A `fetch` for the AI SDK providers built on `node:http`/`node:https` with keep-alive agents.
 * The body is a plain `ReadableStream` fed from the response's `data` events, which costs a
 * fraction of the built-in fetch's per-chunk machinery (a byte stream resumed by an async loop,
 * its WASM HTTP parser): with thousands of concurrent streams every provider chunk counts.
 *
 * Behaves like `fetch` where the SDK relies on it: the request body is a string or bytes;
 * `signal` aborts the request and errors the body with `signal.reason` (an `AbortError`
 * DOMException when there is none); a connection failure rejects with `TypeError('fetch failed',
 * { cause })` and a body cut short errors with `TypeError('terminated', { cause })`, so the SDK
 * still classifies them as retryable network errors. No compression is asked for (SSE chunks are
 * small); a gzip, deflate or br body is decoded anyway.
 * Redirects are not followed (providers' APIs do not redirect; a 3xx is returned as is).
 */
export function createNodeHttpFetch(): typeof fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const signal = init?.signal ?? undefined;
      const abortReason = () => signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
      if (signal?.aborted) {
        notifySent(signal);
        return reject(abortReason());
      }
      const protocol = url.protocol === 'https:' ? 'https:' : url.protocol === 'http:' ? 'http:' : undefined;
      if (!protocol) return reject(new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) }));
      const body = toBody(init?.body);
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
      if (body !== undefined) headers['content-length'] = String(body.byteLength);

      const request = (protocol === 'https:' ? https : http).request(url, {
        method: init?.method ?? 'GET',
        headers,
        agent: agents[protocol],
      });
      let settled = false;
      let fail: (error: unknown) => void = (error) => {
        settled = true;
        reject(error);
      };
      const onAbort = () => {
        const reason = abortReason();
        fail(reason);
        request.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => signal?.removeEventListener('abort', onAbort);

      request.once('finish', () => notifySent(signal));
      request.on('error', (error) => {
        notifySent(signal);
        cleanup();
        if (!settled) fail(new TypeError('fetch failed', { cause: error }));
        else fail(signal?.aborted ? abortReason() : new TypeError('terminated', { cause: error }));
      });
      request.on('response', (response) => {
        const responseHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let index = 0; index < raw.length; index += 2) responseHeaders.append(raw[index], raw[index + 1]);
        const status = response.statusCode ?? 0;
        if (nullBodyStatuses.has(status)) {
          cleanup();
          response.resume();
          settled = true;
          resolve(new Response(null, { status, statusText: response.statusMessage, headers: responseHeaders }));
          return;
        }
        const source = decoded(response, response.headers['content-encoding']);
        let controller!: ReadableStreamDefaultController<Uint8Array>;
        let done = false;
        const stream = new ReadableStream<Uint8Array>({
          start(streamController) {
            controller = streamController;
          },
          pull() {
            source.resume();
          },
          cancel() {
            done = true;
            cleanup();
            request.destroy();
          },
        });
        fail = (error) => {
          if (done) return;
          done = true;
          controller.error(error);
        };
        source.on('data', (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) source.pause();
        });
        source.on('end', () => {
          cleanup();
          if (done) return;
          done = true;
          controller.close();
        });
        const onBodyError = (error: unknown) => {
          cleanup();
          fail(signal?.aborted ? abortReason() : new TypeError('terminated', { cause: error }));
        };
        source.on('error', onBodyError);
        response.on('close', () => {
          if (!response.complete) onBodyError(new Error('the provider closed the connection'));
        });
        settled = true;
        resolve(new Response(stream, { status, statusText: response.statusMessage, headers: responseHeaders }));
      });
      request.end(body);
    });
}

function toBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('createNodeHttpFetch: only string and byte request bodies are supported');
}

function decoded(response: http.IncomingMessage, encoding: string | undefined): Readable {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (!decoder) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}
