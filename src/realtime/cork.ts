/** Anything with Node's writable cork/uncork pair (a socket, an HTTP response). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Shortest time between two flushes. Under load, each socket then gets one write per interval
 * carrying every frame of the interval, instead of one syscall per frame; an idle server flushes
 * at the end of the current turn, so a lone message waits for nothing.
 */
const minFlushIntervalMs = 4;

const corked: Corkable[] = [];
let flushScheduled = false;
let lastFlushAt = 0;

/**
 * Corks `target` until the next flush, so every frame written to it in between leaves in one
 * syscall (SPEC §8: ~5x the deliveries of one write per frame). The flush runs at the end of this
 * event-loop turn (`setImmediate`), or, when the previous flush was less than `minFlushIntervalMs`
 * ago, once that interval has passed (Nagle's algorithm, RFC 896, with a time bound instead of an
 * ack). Call it once per flush per target (keep a flag); `target.uncork()` runs once and clears it.
 */
export function corkUntilNextFlush(target: Corkable): void {
  target.cork();
  corked.push(target);
  if (flushScheduled) return;
  flushScheduled = true;
  const wait = lastFlushAt + minFlushIntervalMs - performance.now();
  if (wait > 0) setTimeout(uncorkAll, wait);
  else setImmediate(uncorkAll);
}

function uncorkAll(): void {
  flushScheduled = false;
  lastFlushAt = performance.now();
  const targets = corked.splice(0);
  for (const target of targets) target.uncork();
}
