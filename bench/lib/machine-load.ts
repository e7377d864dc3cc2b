import { readFileSync } from 'node:fs';

/** Busy and total jiffies per CPU (`cpu0`, `cpu1`, …) from /proc/stat; busy excludes idle and iowait. */
function readCpuTimes(): Map<string, { busy: number; total: number }> {
  const times = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const values = match[2]!.split(/\s+/).map(Number);
    const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
    times.set(match[1]!, { busy: total - values[3]! - values[4]!, total });
  }
  return times;
}

/** The busiest CPU's utilisation in percent over the next `sampleMs`. */
export async function busiestCorePct(sampleMs = 1000): Promise<number> {
  const before = readCpuTimes();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  let busiest = 0;
  for (const [cpu, after] of readCpuTimes()) {
    const start = before.get(cpu);
    if (!start || after.total === start.total) continue;
    busiest = Math.max(busiest, (100 * (after.busy - start.busy)) / (after.total - start.total));
  }
  return Math.round(busiest);
}

/**
 * Waits until no CPU is busier than `limitPct` (other processes on this shared machine), for at
 * most `maxWaitMs`. Resolves with how long it waited and the last utilisation seen; never throws.
 */
export async function waitForQuietMachine(
  limitPct: number,
  maxWaitMs: number,
): Promise<{ waitedMs: number; busiestPct: number }> {
  const started = Date.now();
  let busiestPct = await busiestCorePct();
  while (busiestPct > limitPct && Date.now() - started < maxWaitMs) busiestPct = await busiestCorePct();
  return { waitedMs: Date.now() - started, busiestPct };
}
