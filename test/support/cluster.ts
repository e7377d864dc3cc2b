import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/free-port.ts';
import { queuePrefixFor } from './server.ts';

const cli = path.resolve(import.meta.dirname, '../../src/cli.ts');
const run = promisify(execFile);

/** Polls `check` every 100 ms until it resolves truthy; rejects naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A `chorus start` child process on a loopback port. */
export interface NodeProcess {
  url: string;
  role: string;
  /** Its last 200 lines of output (logs), for failure messages. */
  output: string[];
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGKILL: no shutdown of any kind (sockets die with the process). */
  kill(): Promise<void>;
  /** SIGTERM, and wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/**
 * Starts `node src/cli.ts start --role <role>` with `env` on a free loopback port and resolves once
 * it logs that it listens. Throws with its output when it exits first or takes over `timeoutMs`.
 */
export async function startNode(
  role: 'all' | 'api' | 'worker',
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<NodeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'start', '--role', role], {
    env: {
      ...process.env,
      CHORUS_RATE_LIMIT_PER_SECOND: '0',
      ...(env.DATABASE_URL ? { CHORUS_JOB_QUEUE_PREFIX: queuePrefixFor(env.DATABASE_URL) } : {}),
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const remember = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
  };
  createInterface({ input: child.stdout! }).on('line', remember);
  createInterface({ input: child.stderr! }).on('line', remember);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([
    waitFor(`node ${role} to listen`, async () => output.some((line) => line.includes('Chorus is listening')), timeoutMs),
    exited.then((code) => {
      throw new Error(`node ${role} exited (${code}) before listening:\n${output.slice(-20).join('\n')}`);
    }),
  ]).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url,
    role,
    output,
    exited,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** A private redis-server on a free loopback port, without persistence: a restart starts it empty. */
export interface RedisProcess {
  url: string;
  /** Stops it (SIGKILL: as abrupt as a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = child;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const lines: string[] = [];
    createInterface({ input: started.stdout! }).on('line', (line) => lines.push(line));
    await waitFor(
      'redis-server to accept connections',
      async () => lines.some((line) => line.includes('Ready to accept')),
      15_000,
    );
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      child?.kill('SIGKILL');
      await exited;
    },
    start,
  };
}

/** A private PostgreSQL cluster (initdb, pg_ctl) on a free loopback port, run as the `postgres` user when we are root. */
export interface PostgresProcess {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  destroy(): Promise<void>;
}

/** The PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`), or undefined when not installed. */
export function postgresBin(): string | undefined {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    return versions[0] ? `/usr/lib/postgresql/${versions[0]}/bin` : undefined;
  } catch {
    return undefined;
  }
}

export async function startPostgres(): Promise<PostgresProcess> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
  const root = mkdtempSync(path.join(tmpdir(), 'chorus-pg-'));
  const dataDir = path.join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    chownSync(root, Number(stdout.trim()), Number(group.trim()));
  }
  const pg = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args]) : run(path.join(bin, command), args);
  await pg('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-l', path.join(root, 'log'), '-w', '-t', '60', '-o', options, 'start']);
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A JSON request against a node; `token` adds a bearer header. */
export async function call(
  baseUrl: string,
  method: string,
  pathname: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(baseUrl + pathname, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}
