/**
 * The tokenizer's thread (see token-count.ts): loads gpt-tokenizer's o200k encoding (~300–600 ms
 * of compiling, ~60 MB) here rather than on the event loop, then answers `{id, texts}` with
 * `{id, counts}` (or `{id, error}`), one request at a time in arrival order.
 */
import { parentPort } from 'node:worker_threads';
import { countTokens } from 'gpt-tokenizer';

/** A request to the thread: count each of `texts`. */
export interface TokenizerRequest {
  id: number;
  texts: string[];
}

/** The thread's answer to request `id`: one count per text, or the error's message. */
export type TokenizerReply = { id: number; counts: number[] } | { id: number; error: string };

const noSpecialTokens = { disallowedSpecial: new Set<string>() };

parentPort!.on('message', ({ id, texts }: TokenizerRequest) => {
  let reply: TokenizerReply;
  try {
    reply = { id, counts: texts.map((text) => countTokens(text, noSpecialTokens)) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply);
});
