/**
 * `npm run bench`: the fan-out (issue 3), idle-connection and token-streaming (issue 4)
 * benchmarks, side by side against a raw `ws` ceiling and Socket.IO, measured in one run with
 * one C load generator. Each server is pinned to core 0 and the generator to core 1.
 *
 * Flags: --scenarios fanout,idle,stream,knowledge[,cluster]   --targets raw-ws,socket.io,chorus[,chorus-pg],raw-ws-sized   --quick
 *        --generations N (the most concurrent streamed replies the stream search may try; default 1000, 200 with --quick)
 * BENCH_DATABASE_URL=postgres://… (a user allowed to CREATE DATABASE) adds the `chorus-pg` target;
 *        with BENCH_REDIS_URL=redis://… too, the `cluster` scenario (two api nodes through Redis vs one).
 *        --connections N (fan-out and cluster; default 2000).
 *        --out <file> (default bench/results/latest.json). BENCH_QUICK=1 equals --quick.
 *        --repeat N: the whole selection N times in a row (default 1); prints each run's table, then
 *        every target figure's N values and their median, and writes all runs plus the medians.
 * Prints a table (ratios and targets first) and writes the JSON report.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { installInterruptCleanup, isInterrupted } from './lib/cleanup.ts';
import { buildLoadgen } from './lib/loadgen.ts';
import { waitForQuietMachine } from './lib/machine-load.ts';
import { evaluateTargets, medianOfRuns, renderMedians, renderReport, type BenchReport } from './lib/report.ts';
import { targetNames, type TargetName } from './lib/targets.ts';
import { runCluster } from './scenarios/cluster.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runIdle } from './scenarios/idle.ts';
import { runKnowledge } from './scenarios/knowledge.ts';
import { runStream } from './scenarios/stream.ts';

const { values } = parseArgs({
  options: {
    scenarios: {
      type: 'string',
      default: `fanout,idle,stream,knowledge${process.env.BENCH_DATABASE_URL && process.env.BENCH_REDIS_URL ? ',cluster' : ''}`,
    },
    connections: { type: 'string', default: '2000' },
    targets: {
      type: 'string',
      default: targetNames.filter((name) => name !== 'chorus-pg' || process.env.BENCH_DATABASE_URL).join(','),
    },
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    generations: { type: 'string' },
    repeat: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'latest.json') },
  },
});
const scenarios = new Set(values.scenarios.split(','));
const targets = values.targets.split(',').filter((name): name is TargetName => (targetNames as readonly string[]).includes(name));
const quick = values.quick;

const startRates: Record<TargetName, number> = { 'raw-ws': 100, 'socket.io': 15, chorus: 5, 'chorus-pg': 5, 'raw-ws-sized': 100 };
const quietLimitPct = 30;
const quietWaitMs = quick ? 5_000 : 30_000;
/** Before each measurement: wait (bounded) for other processes to leave the cores, and record it. */
async function quietGate(report: BenchReport, label: string): Promise<void> {
  const gate = await waitForQuietMachine(quietLimitPct, quietWaitMs);
  report.quietGates.push({ label, ...gate });
  if (gate.busiestPct > quietLimitPct)
    console.error(`  (machine busy before ${label}: busiest core ${gate.busiestPct}% after waiting ${gate.waitedMs} ms)`);
}
const message = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0]! : String(error));

const cpuModel = os.cpus()[0]?.model ?? 'unknown';
const newReport = (): BenchReport => ({
  startedAt: new Date().toISOString(),
  quick,
  machine: {
    cpus: os.cpus().length,
    cpuModel,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    loadAverageAtStart: os.loadavg(),
    fdLimit: readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1] ?? 'unknown',
  },
  harness:
    'C epoll load generator (bench/loadgen, built with cc -O2 at run time), pinned with taskset to core 1; each server pinned to core 0. ' +
    'Latency from a monotonic-ns stamp in the payload found by byte scan; server CPU and RSS from /proc/<pid>.',
  fanout: {},
  idle: {},
  stream: {},
  knowledge: null,
  targets: [],
  quietGates: [],
});

/** One pass over the selected scenarios and targets. */
async function runOnce(): Promise<BenchReport> {
  const report = newReport();
  if (scenarios.has('fanout')) {
    const connections = Number(values.connections);
    console.error(`fan-out: ${connections} connections in rooms of 100`);
    for (const target of targets) {
      if (isInterrupted()) break;
      await quietGate(report, `fanout ${target}`);
      try {
        report.fanout[target] = await runFanout(target, {
          connections,
          roomSize: 100,
          startRate: startRates[target],
          stepSeconds: quick ? 2 : 3,
          maxSteps: quick ? 5 : 8,
          p99LimitMs: 100,
        });
      } catch (error) {
        report.fanout[target] = { error: message(error) };
        console.error(`  ${target}: ${message(error)}`);
      }
    }
  }
  if (scenarios.has('idle')) {
    const connections = quick ? 2000 : 10_000;
    console.error(`idle: ${connections} connections`);
    // Padding changes nothing for idle connections: raw-ws-sized is raw-ws there.
    for (const target of targets.filter((name) => name !== 'raw-ws-sized')) {
      if (isInterrupted()) break;
      await quietGate(report, `idle ${target}`);
      try {
        report.idle[target] = await runIdle(target, { connections, settleSeconds: quick ? 2 : 5 });
      } catch (error) {
        report.idle[target] = { error: message(error) };
        console.error(`  ${target}: ${message(error)}`);
      }
    }
  }
  if (scenarios.has('stream') && targets.includes('chorus')) {
    const maxGenerations = Number(values.generations ?? (quick ? 200 : 1000));
    console.error(
      `token streaming: most generations (up to ${maxGenerations}) at p99 chunk → viewer < 50 ms, Chorus and a plain relay`,
    );
    for (const target of ['relay', 'chorus'] as const) {
      if (isInterrupted()) break;
      await quietGate(report, `stream ${target}`);
      try {
        report.stream[target] = await runStream(target, {
          maxGenerations,
          startGenerations: Math.min(25, maxGenerations),
          maxSteps: quick ? 5 : 8,
          p99LimitMs: 50,
          viewersPerConversation: 3,
          conversationsPerUser: 20,
          tokens: 200,
          tokensPerSecond: 50,
          staggerSeconds: 1,
        });
      } catch (error) {
        report.stream[target] = { error: message(error) };
        console.error(`  ${target}: ${message(error)}`);
      }
    }
  }
  if (scenarios.has('knowledge') && !isInterrupted()) {
    console.error('knowledge: ingestion throughput and search latency at 10,000 chunks');
    await quietGate(report, 'knowledge');
    try {
      report.knowledge = await runKnowledge({
        pdfs: quick ? 10 : 50,
        pagesPerPdf: 10,
        chunks: quick ? 2_000 : 10_000,
        queries: quick ? 50 : 200,
      });
    } catch (error) {
      report.knowledge = { error: message(error) };
      console.error(`  ${message(error)}`);
    }
  }
  if (scenarios.has('cluster') && !isInterrupted()) {
    const adminUrl = process.env.BENCH_DATABASE_URL;
    const redisUrl = process.env.BENCH_REDIS_URL;
    const connections = Number(values.connections);
    console.error(
      `cluster: ${connections} connections in rooms of ${Math.min(100, connections)}, one node vs two api nodes through Redis`,
    );
    if (!adminUrl || !redisUrl) report.cluster = { error: 'needs BENCH_DATABASE_URL and BENCH_REDIS_URL' };
    else {
      await quietGate(report, 'cluster');
      try {
        report.cluster = await runCluster(
          {
            connections,
            roomSize: Math.min(100, connections),
            startRate: startRates.chorus,
            stepSeconds: quick ? 2 : 3,
            maxSteps: quick ? 5 : 8,
            p99LimitMs: 100,
          },
          adminUrl,
          redisUrl,
        );
      } catch (error) {
        report.cluster = { error: message(error) };
        console.error(`  ${message(error)}`);
      }
    }
  }
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = os.loadavg();
  report.targets = evaluateTargets(report);
  return report;
}

installInterruptCleanup();
buildLoadgen();
const repeat = Math.max(1, Number(values.repeat));
const runs: BenchReport[] = [];
for (let run = 1; run <= repeat && !isInterrupted(); run++) {
  if (repeat > 1) console.error(`run ${run} of ${repeat}`);
  const report = await runOnce();
  if (isInterrupted()) break;
  runs.push(report);
  console.log(`${repeat > 1 ? `\nRun ${run} of ${repeat}\n` : ''}${renderReport(report)}`);
}
if (isInterrupted()) await new Promise(() => {}); // the interrupt handler exits once cleanup is done
const summary: BenchReport = repeat > 1 ? { ...runs.at(-1)!, runs, medians: medianOfRuns(runs) } : runs[0]!;
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(summary, null, 2)}\n`);
if (summary.medians) console.log(`\n${renderMedians(summary.medians)}`);
console.log(`\nwritten to ${path.relative(process.cwd(), values.out)}`);
