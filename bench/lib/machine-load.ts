import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * A /proc `stat` file (proc(5)): the name (`comm`) and field `n` as a number, numbered as in
 * proc(5) (4 is the parent's pid, 14 utime, 15 stime, 39 the CPU last run on). Undefined when the
 * process or thread is gone.
 */
export function readStat(file: string): { name: string; field(n: number): number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The name may hold spaces and parentheses; the fields after its last ")" start at 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), field: (n) => Number(fields[n - 3]) };
}

/** One thread of a process, from /proc/<pid>/task/<tid>/stat. */
interface ThreadStat {
  tid: string;
  /** Its name (`comm`, at most 15 characters). */
  name: string;
  /** utime + stime, in jiffies (1/100 s). */
  jiffies: number;
  /** The CPU it last ran on (`cpu0`, …; field 39). */
  cpu: string;
}

/** The threads of `pid` (none when the process is gone; a thread that exits meanwhile is left out). */
function readThreads(pid: number): ThreadStat[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const threads: ThreadStat[] = [];
  for (const tid of tasks) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    threads.push({ tid, name: stat.name, jiffies: stat.field(14) + stat.field(15), cpu: `cpu${stat.field(39)}` });
  }
  return threads;
}

/**
 * Jiffies (utime + stime) of `pid`'s threads per CPU they last ran on (`cpu0`, …). The server's
 * threads are pinned, so this is each core's share.
 */
function readOwnCpuTimes(pid: number | undefined): Map<string, number> {
  const times = new Map<string, number>();
  for (const thread of pid === undefined ? [] : readThreads(pid))
    times.set(thread.cpu, (times.get(thread.cpu) ?? 0) + thread.jiffies);
  return times;
}

/**
 * The busiest CPU's utilisation in percent over the next `sampleMs`, not counting the threads of
 * `ownPid` (the server under test: embedded Chorus's database thread runs on the generator's core).
 */
export async function busiestCorePct(sampleMs = 1000, ownPid?: number): Promise<number> {
  const before = readCpuTimes();
  const ownBefore = readOwnCpuTimes(ownPid);
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const ownAfter = readOwnCpuTimes(ownPid);
  let busiest = 0;
  for (const [cpu, after] of readCpuTimes()) {
    const start = before.get(cpu);
    if (!start || after.total === start.total) continue;
    const own = (ownAfter.get(cpu) ?? 0) - (ownBefore.get(cpu) ?? 0);
    busiest = Math.max(busiest, (100 * Math.max(0, after.busy - start.busy - own)) / (after.total - start.total));
  }
  return Math.round(busiest);
}

/**
 * Waits until no CPU is busier than `limitPct` (other processes on this shared machine; the threads
 * of `ownPid` are not counted), for at most `maxWaitMs`. Resolves with how long it waited and the
 * last utilisation seen; never throws.
 */
export async function waitForQuietMachine(
  limitPct: number,
  maxWaitMs: number,
  ownPid?: number,
): Promise<{ waitedMs: number; busiestPct: number }> {
  const started = Date.now();
  let busiestPct = await busiestCorePct(1000, ownPid);
  while (busiestPct > limitPct && Date.now() - started < maxWaitMs) busiestPct = await busiestCorePct(1000, ownPid);
  return { waitedMs: Date.now() - started, busiestPct };
}

/**
 * CPU milliseconds (utime + stime) of `pid`'s threads, grouped: `main` (the event loop's thread),
 * each worker thread by its name (`chorus-pglite`, `chorus-tokenizer`: Node names the OS thread
 * after the Worker's `name`, truncated to 15 characters), and `other` (V8's GC and compiler
 * threads, libuv's pool). Empty when the process is gone.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const groups = new Map<string, number>();
  const msPerJiffy = 10; // USER_HZ is 100 on Linux
  for (const thread of readThreads(pid)) {
    const group = thread.tid === String(pid) ? 'main' : thread.name.startsWith('chorus-') ? thread.name : 'other';
    groups.set(group, (groups.get(group) ?? 0) + thread.jiffies * msPerJiffy);
  }
  return groups;
}
