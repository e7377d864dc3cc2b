import { readFileSync } from 'node:fs';
import type { Loadgen, LoadgenResult } from '../lib/loadgen.ts';
import type { LoopDelayReader } from '../lib/loop-delay.ts';
import { waitForQuietMachine } from '../lib/machine-load.ts';
import { prepareTarget, startLoadgenFor, type TargetName } from '../lib/targets.ts';

/** Layout and search bounds of the fan-out scenario (issue 3). */
export interface FanoutOptions {
  connections: number;
  roomSize: number;
  /** Per-publisher messages/s of the first step; the search doubles or bisects from there. */
  startRate: number;
  stepSeconds: number;
  maxSteps: number;
  p99LimitMs: number;
}

/** The best step meeting the latency bound, every step tried, and the set-up facts. */
export interface FanoutResult {
  target: TargetName;
  connected: number;
  connectMs: number;
  setupMs: number;
  best: LoadgenResult | null;
  steps: LoadgenResult[];
  /** One step at `referenceRate` after the search: the same load for every target (event-loop health). */
  reference: LoadgenResult | null;
}

/**
 * Messages/s per publisher of the reference step: 20,000 deliveries/s with 2,000 connections in
 * rooms of 100, a load every target carries. At each target's best step the search has pushed it
 * to the limit of its core, where every server's event loop lags 60–70 ms (raw ws included), so
 * the event-loop figure that tells servers apart is read here, at the same load for all.
 */
export const referenceRate = 10;

/** Other processes' CPU share on either core above which a failed attempt is inconclusive. */
const disturbanceLimitPct = 20;

/**
 * One step at `rate` messages/s per publisher, decided by a majority of up to three attempts.
 * A 3 s attempt's p99 moves by tens of milliseconds with a single event-loop stall, so one attempt
 * decided a step by luck: the same code's search result moved 3× between runs. Two attempts are
 * made; a third when they disagree. The step's result is the middle attempt by p99 (of two that
 * agree, the one nearer the bound), so `stepPasses` on it gives the majority's verdict. The same
 * rule applies to every target. The machine is shared: an attempt that fails while other processes
 * took more than `disturbanceLimitPct` of either core is inconclusive, is not counted, and is made
 * again after waiting (bounded) for a quiet machine; at most 6 attempts in all. With
 * `databaseIsOtherLoad` (chorus-pg: its PostgreSQL is a separate process, counted as "other") every
 * attempt counts: set aside, its failures under its own database's load left a lone pass to
 * decide the step. `attempts` (how many were made), `attemptP99Ms` (each counted attempt's p99)
 * and `disturbed` are added to the result, and with `loopDelay` each attempt's `loopP99Ms` (the
 * server's p99 event-loop delay over the attempt and its drain), and `deliveriesPerWrite` (see
 * `writeSyscalls`). Any backlog is drained after each attempt.
 */
async function measureStep(
  loadgen: Loadgen,
  rate: number,
  seconds: number,
  p99LimitMs: number,
  databaseIsOtherLoad: boolean,
  loopDelay?: LoopDelayReader,
): Promise<LoadgenResult> {
  const otherLoad = (result: LoadgenResult) => Math.max(Number(result.otherCore0Pct), Number(result.otherCore1Pct));
  const passing: LoadgenResult[] = [];
  const failing: LoadgenResult[] = [];
  const inconclusive: LoadgenResult[] = [];
  const countedP99Ms: Array<number | string> = []; // in the order the attempts were made
  let made = 0;
  while (made < 6 && passing.length < 2 && failing.length < 2) {
    made++;
    await loopDelay?.(); // resets the server's histogram
    const writesBefore = writeSyscalls(loadgen.serverPid);
    const result = await loadgen.command(`run ${rate} ${seconds} 3`);
    const writes = writeSyscalls(loadgen.serverPid) - writesBefore;
    if (writes > 0) result.deliveriesPerWrite = Math.round((Number(result.delivered) / writes) * 100) / 100;
    if (loopDelay) result.loopP99Ms = (await loopDelay()) ?? '';
    await loadgen.command('settle 0.5 30');
    const passed = stepPasses(result, p99LimitMs);
    if (passed || databaseIsOtherLoad || otherLoad(result) <= disturbanceLimitPct) {
      (passed ? passing : failing).push(result);
      countedP99Ms.push(result.p99Ms!);
    } else {
      inconclusive.push(result);
      await waitForQuietMachine(30, 20_000, loadgen.serverPid);
    }
  }
  if (passing.length + failing.length === 0) {
    const least = inconclusive.reduce((a, b) => (otherLoad(b) < otherLoad(a) ? b : a));
    return { ...least, attempts: made, attemptP99Ms: '', disturbed: 'yes' };
  }
  const passedMajority = passing.length > failing.length;
  const side = (passedMajority ? passing : failing).sort((a, b) => Number(a.p99Ms) - Number(b.p99Ms));
  // The passing attempt nearest the bound, or the failing one nearest it: the median of three.
  const chosen = passedMajority ? side.at(-1)! : side[0]!;
  return {
    ...chosen,
    attempts: made,
    attemptP99Ms: countedP99Ms.join(','),
    // Attempts ran out before two agreed: the step stands on one undisturbed attempt, so say so.
    disturbed: side.length >= 2 ? '' : 'yes',
  };
}

/**
 * Write syscalls the process has made (`syscw` of /proc/<pid>/io: write, writev, sendmsg…), or
 * NaN where unreadable. Over an attempt, deliveries / writes is how many frames each socket write
 * carried: with one frame per write a delivery costs a syscall (~10 µs on the bench VM), which is
 * what separates servers at equal load far more than their own code.
 */
function writeSyscalls(pid: number): number {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  } catch {
    return Number.NaN;
  }
}

/** A step passes when p99 is under the bound and at least 99 % of expected deliveries arrived. */
export function stepPasses(step: LoadgenResult, p99LimitMs: number): boolean {
  return Number(step.p99Ms) < p99LimitMs && Number(step.delivered) >= 0.99 * Number(step.expected) && Number(step.expected) > 0;
}

/**
 * Connects `connections` clients in rooms of `roomSize` (one publisher per room) to the target,
 * then searches for the highest offered rate whose p99 publish→delivery latency stays under the
 * bound (see `searchRate`), then measures one step at `referenceRate`. Server on core 0,
 * generator on core 1.
 */
export async function runFanout(target: TargetName, options: FanoutOptions): Promise<FanoutResult> {
  const prepared = await prepareTarget(target, {
    core: 0,
    rooms: Math.ceil(options.connections / options.roomSize),
    perRoom: options.roomSize,
    usersPerRoom: 4,
    publishers: true,
  });
  const loadgen = await startLoadgenFor(prepared, 1);
  try {
    const { connect, best, steps } = await searchRate(loadgen, target, options, target === 'chorus-pg', prepared.loopDelay);
    const reference = await measureStep(
      loadgen,
      referenceRate,
      options.stepSeconds,
      options.p99LimitMs,
      target === 'chorus-pg',
      prepared.loopDelay,
    );
    process.stderr.write(
      `  ${target} reference ${referenceRate}/s/publisher: ${reference.deliveredPerSec} deliveries/s p99 ${reference.p99Ms} ms` +
        ` event loop p99 ${reference.loopP99Ms} ms, ${reference.deliveriesPerWrite} deliveries per write, server CPU ${reference.serverCpuPct} %\n`,
    );
    return {
      target,
      connected: Number(connect.ready),
      connectMs: Number(connect.ms),
      setupMs: prepared.setupMs,
      best,
      steps,
      reference,
    };
  } finally {
    await loadgen.stop();
    await prepared.server.stop();
  }
}

/**
 * Connects the generator's plan, warms up, then searches for the highest offered rate whose p99
 * publish→delivery latency stays under the bound: double until a step fails, then bisect until
 * the bracket is within 15 %, `maxSteps` steps have run, or the rate fell below an eighth of the
 * first. `label` names the target in the progress lines; `loopDelay` adds each attempt's
 * event-loop p99 (`loopP99Ms`).
 */
export async function searchRate(
  loadgen: Loadgen,
  label: string,
  options: Pick<FanoutOptions, 'startRate' | 'stepSeconds' | 'maxSteps' | 'p99LimitMs'>,
  databaseIsOtherLoad: boolean,
  loopDelay?: LoopDelayReader,
): Promise<{ connect: LoadgenResult; best: LoadgenResult | null; steps: LoadgenResult[] }> {
  const connect = await loadgen.command('connect 200 120');
  // Warm-up (JIT, buffers) at a quarter of the first rate; not reported.
  await loadgen.command(`run ${options.startRate / 4} 1 2`);
  const steps: LoadgenResult[] = [];
  let best: LoadgenResult | null = null;
  let failedRate = Infinity;
  let rate = options.startRate;
  for (let step = 0; step < options.maxSteps && rate >= options.startRate / 8; step++) {
    const result = await measureStep(loadgen, rate, options.stepSeconds, options.p99LimitMs, databaseIsOtherLoad, loopDelay);
    steps.push(result);
    const passed = stepPasses(result, options.p99LimitMs);
    process.stderr.write(
      `  ${label} rate ${rate}/s/publisher: ${result.deliveredPerSec} deliveries/s p99 ${result.p99Ms} ms ${passed ? 'pass' : 'fail'}` +
        `${result.deliveriesPerWrite === undefined ? '' : ` ${result.deliveriesPerWrite} deliveries per write`}` +
        ` (attempts' p99: ${result.attemptP99Ms} ms)` +
        `${result.loopP99Ms === undefined ? '' : ` event loop p99 ${result.loopP99Ms} ms`}` +
        `${result.disturbed ? ` (disturbed: other load ${result.otherCore0Pct}% core 0, ${result.otherCore1Pct}% core 1)` : ''}\n`,
    );
    if (passed && (!best || Number(result.deliveredPerSec) > Number(best.deliveredPerSec))) best = result;
    if (!passed) failedRate = Math.min(failedRate, rate);
    const passedRate = best ? Number(best.rate) : 0;
    if (passedRate > 0 && failedRate / passedRate < 1.15) break;
    rate = failedRate === Infinity ? rate * 2 : passedRate > 0 ? (passedRate + failedRate) / 2 : rate / 2;
    rate = Math.round(rate * 100) / 100;
  }
  return { connect, best, steps };
}
