import { Worker } from 'node:worker_threads';
import type { TokenizerReply, TokenizerRequest } from './tokenizer-worker.ts';

/** Characters of text the count cache keeps at most (~8 MB of one-byte strings). */
const cacheCapacityChars = 8_000_000;

/** text → tokens, least recently used first (a `Map` keeps insertion order; a hit re-inserts). */
const counts = new Map<string, number>();
let cachedChars = 0;

let thread: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (counts: number[]) => void; reject: (error: Error) => void }>();

/**
 * Tokens of each of `texts` (same order), counted with the o200k tokenizer (close enough for other
 * vendors' budgeting).
 *
 * Counting runs on a thread of its own, started on the first count and unref'd: loading the
 * encoding takes ~300–600 ms of compiling and ~60 MB, and BPE ~0.15 µs per character, none of
 * which may stall the event loop (every live stream would stop for it). A server whose contexts
 * fit by byte size and whose providers report usage never starts it.
 *
 * Counts are cached per text (LRU, up to 8 M characters): each run of a long conversation re-fits
 * the same history. The count is a pure function of the text, so the cache is never stale.
 * Rejects when the thread fails (the next call starts a new one).
 */
export async function countTokens(texts: readonly string[]): Promise<number[]> {
  const result = texts.map((text) => (text === '' ? 0 : remembered(text)));
  const missing = [...new Set(texts.filter((_, index) => result[index] === undefined))];
  if (missing.length > 0) {
    const fresh = await countOnThread(missing);
    missing.forEach((text, index) => remember(text, fresh[index]!));
    const byText = new Map(missing.map((text, index) => [text, fresh[index]!]));
    texts.forEach((text, index) => (result[index] ??= byText.get(text)));
  }
  return result as number[];
}

function remembered(text: string): number | undefined {
  const cached = counts.get(text);
  if (cached === undefined) return undefined;
  counts.delete(text);
  counts.set(text, cached);
  return cached;
}

function remember(text: string, tokens: number): void {
  if (text.length > cacheCapacityChars / 4 || counts.has(text)) return;
  counts.set(text, tokens);
  cachedChars += text.length;
  for (const [oldest] of counts) {
    if (cachedChars <= cacheCapacityChars) break;
    counts.delete(oldest);
    cachedChars -= oldest.length;
  }
}

function countOnThread(texts: string[]): Promise<number[]> {
  const worker = (thread ??= startThread());
  const id = nextId++;
  // Referenced only while a count is awaited: an idle thread never keeps the process alive.
  if (pending.size === 0) worker.ref();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, texts } satisfies TokenizerRequest);
  });
}

function startThread(): Worker {
  const worker = new Worker(new URL('./tokenizer-worker.ts', import.meta.url), { name: 'chorus-tokenizer' });
  worker.unref();
  worker.on('message', (reply: TokenizerReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
    if ('counts' in reply) waiter?.resolve(reply.counts);
    else waiter?.reject(new Error(`counting tokens failed: ${reply.error}`));
  });
  let failure: Error | undefined;
  worker.on('error', (error) => (failure = error));
  worker.on('exit', (code) => {
    if (thread === worker) thread = undefined;
    const error = new Error(`the tokenizer thread exited (code ${code})`, { cause: failure });
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  return worker;
}
