import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { onInterrupt } from './cleanup.ts';

/** A server under test, pinned to one core; `pid` is the process whose CPU and RSS are measured. */
export interface ServerProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts `node <script> <args…>` under `taskset -c <core>` (taskset execs, so the pid is the
 * server's) and resolves once `isReady` passes, polled every 200 ms for at most `timeoutMs`.
 * Throws when the process exits early or never becomes ready.
 */
export async function startPinnedNode(options: {
  core: number;
  script: string;
  args?: string[];
  env?: Record<string, string>;
  isReady: (child: ChildProcess, output: string[]) => Promise<number | undefined>;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  // BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to every server under test.
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    'taskset',
    ['-c', String(options.core), process.execPath, ...flags, options.script, ...(options.args ?? [])],
    {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => output.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    output.push(line);
    if (output.length > 200) output.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline && !exitedEarly) {
    const port = await options.isReady(child, output).catch(() => undefined);
    if (port) {
      const stop = async () => {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(force);
      };
      const unregister = onInterrupt(stop);
      return {
        pid: child.pid!,
        port,
        async stop() {
          await stop();
          unregister();
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`server ${options.script} did not become ready:\n${output.slice(-20).join('\n')}`);
}

/** Readiness for the baseline servers: they print `listening <port>`. */
export async function listeningLine(_child: ChildProcess, output: string[]): Promise<number | undefined> {
  const line = output.find((text) => text.startsWith('listening '));
  return line ? Number(line.split(' ')[1]) : undefined;
}

/** Resident set size of process `pid` in MB, from /proc/<pid>/status (0 when unreadable). */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}
