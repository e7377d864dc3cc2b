import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Anything with Node's writable cork/uncork pair (a socket, an HTTP response). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Shortest time between two flushes, whatever the load. */
const minFlushIntervalMs = 4;
/** Longest time between two flushes, reached when the event loop is busy all the time. */
const maxFlushIntervalMs = 24;
/** Event-loop utilisation from which the interval starts growing. */
const busyFrom = 0.5;

const corked: Corkable[] = [];
let flushScheduled = false;
let lastFlushAt = 0;
let lastAdaptedAt = 0;
let flushIntervalMs = minFlushIntervalMs;
let utilization: EventLoopUtilization = performance.eventLoopUtilization();

/**
 * Corks `target` until the next flush, so every frame written to it in between leaves in one
 * syscall (SPEC §8: ~5x the deliveries of one write per frame). An idle server flushes at the end
 * of the current turn (`setImmediate`), so a lone message waits for nothing. Otherwise two
 * flushes are at least an interval apart (Nagle's algorithm, RFC 896, bounded by time instead of
 * an ack), and the interval grows from 4 to 24 ms as the event loop's utilisation goes from 50 to
 * 100 %: a saturated server sends each socket more frames per write syscall instead of queueing
 * (flush consolidation, as in Netty's FlushConsolidationHandler). Call it once per flush per target
 * (keep a flag); `target.uncork()` runs once and clears it.
 */
export function corkUntilNextFlush(target: Corkable): void {
  target.cork();
  corked.push(target);
  if (flushScheduled) return;
  flushScheduled = true;
  const wait = lastFlushAt + flushIntervalMs - performance.now();
  if (wait > 0) setTimeout(uncorkAll, Math.ceil(wait));
  else setImmediate(uncorkAll);
}

function uncorkAll(): void {
  flushScheduled = false;
  const now = performance.now();
  if (now - lastAdaptedAt >= 100) adaptInterval(now);
  lastFlushAt = now;
  const targets = corked.splice(0);
  for (const target of targets) target.uncork();
}

/** Sets the flush interval from the event loop's utilisation since the last adaptation (≥ 100 ms ago). */
function adaptInterval(now: number): void {
  lastAdaptedAt = now;
  const since = performance.eventLoopUtilization(utilization);
  utilization = performance.eventLoopUtilization();
  const busy = Math.max(0, (since.utilization - busyFrom) / (1 - busyFrom));
  flushIntervalMs = minFlushIntervalMs + busy * (maxFlushIntervalMs - minFlushIntervalMs);
}
