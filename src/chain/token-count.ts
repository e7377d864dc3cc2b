import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tokenizer: typeof import('gpt-tokenizer') | undefined;
const noSpecialTokens = { disallowedSpecial: new Set<string>() };

/** Characters of text the count cache keeps at most (~8 MB of one-byte strings). */
const cacheCapacityChars = 8_000_000;
/** Texts shorter than this are counted every time: a lookup would cost about as much. */
const minCachedChars = 64;

/** text → tokens, least recently used first (a `Map` keeps insertion order; a hit re-inserts). */
const counts = new Map<string, number>();
let cachedChars = 0;

/**
 * Tokens of `text` counted with the o200k tokenizer (close enough for other vendors' budgeting).
 * The tokenizer is loaded on the first count: its encoding costs ~60 MB of RSS and ~300 ms of
 * start-up, and a server whose contexts fit by byte size and whose providers report usage never
 * needs it.
 *
 * Counts are cached per text (LRU, up to 8 M characters): each run of a long conversation re-fits
 * the same history, and BPE costs ~1 µs per character while a lookup hashes the string once.
 * The count is a pure function of the text, so the cache can never be stale.
 */
export function countTextTokens(text: string): number {
  if (text.length < minCachedChars) return countUncached(text);
  const cached = counts.get(text);
  if (cached !== undefined) {
    counts.delete(text);
    counts.set(text, cached);
    return cached;
  }
  const tokens = countUncached(text);
  if (text.length > cacheCapacityChars / 4) return tokens;
  counts.set(text, tokens);
  cachedChars += text.length;
  for (const [oldest] of counts) {
    if (cachedChars <= cacheCapacityChars) break;
    counts.delete(oldest);
    cachedChars -= oldest.length;
  }
  return tokens;
}

function countUncached(text: string): number {
  tokenizer ??= require('gpt-tokenizer') as typeof import('gpt-tokenizer');
  return tokenizer.countTokens(text, noSpecialTokens);
}
