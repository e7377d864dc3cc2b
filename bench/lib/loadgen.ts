import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { onInterrupt } from './cleanup.ts';

const sourceDir = path.join(import.meta.dirname, '..', 'loadgen');
const buildDir = path.join(import.meta.dirname, '..', '.build');
const binary = path.join(buildDir, 'loadgen');

/** One JSON line printed by the load generator. */
export type LoadgenResult = Record<string, number | string>;

/**
 * Compiles bench/loadgen/*.c with the system `cc -O2` into bench/.build/loadgen when any source
 * is newer than the binary. Returns the binary's path; throws with the compiler output on failure.
 */
export function buildLoadgen(): string {
  const sources = readdirSync(sourceDir).filter((name) => name.endsWith('.c') || name.endsWith('.h'));
  const builtAt = statSafe(binary);
  if (builtAt > 0 && sources.every((name) => statSafe(path.join(sourceDir, name)) < builtAt)) return binary;
  mkdirSync(buildDir, { recursive: true });
  const files = sources.filter((name) => name.endsWith('.c')).map((name) => path.join(sourceDir, name));
  const result = spawnSync('cc', ['-D_GNU_SOURCE', '-O2', '-Wall', '-o', binary, ...files, '-lm'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cc failed:\n${result.stderr}`);
  return binary;
}

function statSafe(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Options of one load generator process (see bench/loadgen/main.c for the flags). */
export interface LoadgenOptions {
  proto: 'ws' | 'sio' | 'chorus';
  port: number;
  path: string;
  planFile: string;
  serverPid: number;
  core: number;
  selfEcho?: boolean;
  /** Padding bytes in each published payload; the generator's default when absent (see main.c). */
  padBytes?: number;
  providerPort?: number;
  tokens?: number;
  tokensPerSecond?: number;
}

/**
 * A running load generator pinned to one core with `taskset`. Commands are sent one at a time;
 * each resolves with the JSON line the generator prints for it. The process exits on `stop()`.
 */
export class Loadgen {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: Array<(line: LoadgenResult) => void> = [];
  readonly #exited: Promise<void>;
  /** The measured server's pid (its threads are not "other load"). */
  readonly serverPid: number;

  private constructor(child: ChildProcessWithoutNullStreams, serverPid: number) {
    this.#child = child;
    this.serverPid = serverPid;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.#waiting.shift()?.(JSON.parse(line) as LoadgenResult);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()));
    const unregister = onInterrupt(() => void child.kill('SIGKILL'));
    void this.#exited.then(unregister);
    void this.#exited.then(() => {
      for (const resolve of this.#waiting.splice(0)) resolve({ event: 'exited' });
    });
  }

  /** Starts the generator and waits for its `ready` line. */
  static async start(options: LoadgenOptions): Promise<Loadgen> {
    const args = [
      '-c',
      String(options.core),
      buildLoadgen(),
      '--proto',
      options.proto,
      '--port',
      String(options.port),
      '--path',
      options.path,
      '--plan',
      options.planFile,
      '--server-pid',
      String(options.serverPid),
      '--self-echo',
      options.selfEcho === false ? '0' : '1',
    ];
    if (options.padBytes !== undefined) args.push('--pad-bytes', String(options.padBytes));
    if (options.providerPort) {
      args.push('--provider-port', String(options.providerPort), '--tokens', String(options.tokens ?? 200));
      args.push('--tps', String(options.tokensPerSecond ?? 50));
    }
    const loadgen = new Loadgen(spawn('taskset', args, { stdio: ['pipe', 'pipe', 'pipe'] }), options.serverPid);
    const ready = await loadgen.#next();
    if (ready.event !== 'ready') throw new Error('loadgen did not start');
    return loadgen;
  }

  #next(): Promise<LoadgenResult> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Sends one command line (e.g. `run 100 3 2`) and resolves with its result. */
  async command(line: string): Promise<LoadgenResult> {
    const result = this.#next();
    this.#child.stdin.write(`${line}\n`);
    const value = await result;
    if (value.event === 'exited') throw new Error(`loadgen exited during "${line}"`);
    return value;
  }

  /** Asks the generator to close its connections and exit; resolves when it has. */
  async stop(): Promise<void> {
    this.#child.stdin.end('quit\n');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
