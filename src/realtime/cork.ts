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
/**
 * Targets uncorked per event-loop turn. Each uncork is a write syscall (~10 µs on the bench VM),
 * so a flush of 2,000 sockets in one turn held the loop for ~20 ms; in slices, frames read
 * meanwhile (sends, pongs) are handled between them.
 */
const uncorksPerTurn = 256;

const corked: Corkable[] = [];
/** Set from the first cork of a flush until its last slice is uncorked. */
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
 * (flush consolidation, as in Netty's FlushConsolidationHandler). A flush uncorks 256 targets per
 * turn. Call it once per flush per target (keep a flag); `target.uncork()` runs once and clears it.
 */
export function corkUntilNextFlush(target: Corkable): void {
  target.cork();
  corked.push(target);
  if (!flushScheduled) scheduleFlush();
}

function scheduleFlush(): void {
  flushScheduled = true;
  const wait = lastFlushAt + flushIntervalMs - performance.now();
  if (wait > 0) setTimeout(uncorkAll, Math.ceil(wait));
  else setImmediate(uncorkAll);
}

function uncorkAll(): void {
  const now = performance.now();
  if (now - lastAdaptedAt >= 100) adaptInterval(now);
  lastFlushAt = now;
  uncorkSlice(corked.splice(0), 0);
}

/**
 * Uncorks `targets` from `start`, `uncorksPerTurn` per turn; targets corked meanwhile go to the
 * next flush, scheduled once this one is done.
 */
function uncorkSlice(targets: Corkable[], start: number): void {
  const end = Math.min(targets.length, start + uncorksPerTurn);
  for (let index = start; index < end; index++) targets[index]!.uncork();
  if (end < targets.length) {
    setImmediate(uncorkSlice, targets, end);
    return;
  }
  flushScheduled = false;
  if (corked.length > 0) scheduleFlush();
}

/** Sets the flush interval from the event loop's utilisation since the last adaptation (≥ 100 ms ago). */
function adaptInterval(now: number): void {
  lastAdaptedAt = now;
  const since = performance.eventLoopUtilization(utilization);
  utilization = performance.eventLoopUtilization();
  const busy = Math.max(0, (since.utilization - busyFrom) / (1 - busyFrom));
  flushIntervalMs = minFlushIntervalMs + busy * (maxFlushIntervalMs - minFlushIntervalMs);
}
