import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onInterrupt } from './cleanup.ts';
import { readStat } from './machine-load.ts';
import { freePort } from '../../scripts/free-port.ts';
import { startPinnedNode, type ServerProcess } from './server-process.ts';

const repoRoot = path.join(import.meta.dirname, '..', '..');

/** A Chorus user created for the benchmark, with an access token valid for 15 minutes. */
export interface BenchUser {
  id: string;
  handle: string;
  token: string;
}

/** A running Chorus node under test and its base URL (`http://127.0.0.1:<port>`). */
export interface ChorusServer extends ServerProcess {
  baseUrl: string;
  /** Its PostgreSQL database, when it stores in one (`startChorusOnPostgres`). */
  databaseUrl?: string;
}

/**
 * Starts Chorus through its CLI (`src/cli.ts start`), pinned to `core`, with auth and embedded
 * PGlite persistence in a fresh temporary data directory, rate limits off, logs at `warn`.
 * `env` adds variables (e.g. a model provider), `args` follow `start` (e.g. `--role api`).
 * `stop()` also removes the data directory.
 */
export async function startChorus(core: number, env: Record<string, string> = {}, args: string[] = []): Promise<ChorusServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-bench-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startPinnedNode({
    core,
    script: path.join(repoRoot, 'src', 'cli.ts'),
    args: ['start', ...args],
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      CHORUS_DATA_DIR: dataDir,
      CHORUS_RATE_LIMIT_PER_SECOND: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    isReady: async () => ((await fetch(`${baseUrl}/healthz`)).ok ? port : undefined),
    // Start-up (PGlite's WASM, migrations) took over 60 s pinned to a core other work also used.
    timeoutMs: 180_000,
  });
  // Issue 11: embedded mode may use the second core. Its PGlite thread (docs/decisions/0017) goes
  // to core 1, beside the load generator; the event loop stays alone on `core`.
  if (!env.DATABASE_URL) pinThread(server.pid, 'chorus-pglite', 1 - core);
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  const unregister = onInterrupt(async () => {
    await server.stop();
    removeDataDir();
  });
  return {
    ...server,
    baseUrl,
    async stop() {
      await server.stop();
      removeDataDir();
      unregister();
    },
  };
}

/**
 * A fresh PostgreSQL database created on the server named by `adminUrl` (a user allowed to
 * CREATE DATABASE): its URL, and `drop()` (also run on interrupt).
 */
export async function createBenchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `chorus_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dropDatabase = async () => {
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    try {
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await cleanup.end();
    }
  };
  const unregister = onInterrupt(dropDatabase);
  return {
    url: url.toString(),
    async drop() {
      await dropDatabase();
      unregister();
    },
  };
}

/**
 * Like `startChorus`, but storing in a fresh PostgreSQL database (`createBenchDatabase`) dropped
 * on `stop()`. PostgreSQL runs as its own process, so the measured RSS is Chorus's alone.
 */
export async function startChorusOnPostgres(core: number, adminUrl: string): Promise<ChorusServer> {
  const database = await createBenchDatabase(adminUrl);
  const unpin = await pinPostgres(adminUrl, 1 - core);
  const server = await startChorus(core, { DATABASE_URL: database.url }).catch((error: unknown) => {
    unpin();
    throw error;
  });
  return {
    ...server,
    databaseUrl: database.url,
    async stop() {
      await server.stop();
      unpin();
      await database.drop();
    },
  };
}

/**
 * Pins a PostgreSQL on this machine (`adminUrl` on loopback) to `core` for as long as Chorus runs
 * on it, as embedded PGlite's thread is pinned beside the load generator: its postmaster (from
 * `<data_directory>/postmaster.pid`), every process it forked, and so every backend it forks
 * meanwhile, so that the server's core is Chorus's alone (unpinned, one session-10 run saw its
 * backends take 26 % of core 0). Returns what puts the original CPU masks back. Warns and
 * changes nothing for a remote server or without the right to set another user's affinity.
 */
async function pinPostgres(adminUrl: string, core: number): Promise<() => void> {
  const host = new URL(adminUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return () => undefined;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let dataDirectory: string;
  try {
    dataDirectory = (await client.query<{ data_directory: string }>('show data_directory')).rows[0]!.data_directory;
  } finally {
    await client.end();
  }
  const masks = new Map<string, string>();
  let postmaster: string;
  try {
    postmaster = readFileSync(path.join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
  } catch (error) {
    process.stderr.write(`  could not pin PostgreSQL to core ${core}, it runs unpinned: ${String(error)}\n`);
    return () => undefined;
  }
  const children = readdirSync('/proc').filter(
    (entry) => /^\d+$/.test(entry) && String(readStat(`/proc/${entry}/stat`)?.field(4)) === postmaster,
  );
  for (const pid of [postmaster, ...children]) {
    try {
      const mask = execFileSync('taskset', ['-p', pid], { encoding: 'utf8' }).trim().split(' ').at(-1)!;
      execFileSync('taskset', ['-p', '-c', String(core), pid], { stdio: 'ignore' });
      masks.set(pid, mask);
    } catch {
      // the process ended meanwhile (a backend), or setting its affinity is not allowed
    }
  }
  if (!masks.has(postmaster)) process.stderr.write(`  could not pin PostgreSQL to core ${core}, it runs unpinned\n`);
  return () => {
    for (const [pid, mask] of masks) {
      try {
        execFileSync('taskset', ['-p', mask, pid], { stdio: 'ignore' });
      } catch {
        // the process ended
      }
    }
  };
}

/** Calls the Chorus HTTP API; throws with the status and body on any non-2xx answer. */
export async function api<T>(baseUrl: string, method: string, route: string, token?: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}/api/v1${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route} → ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

interface Session {
  accessToken: string;
  user: { id: string; handle: string };
}

/**
 * Registers `count` users in one new workspace through the HTTP API (argon2 hashing included):
 * the first creates the workspace, the others join with one invite code, `concurrency` at a time.
 */
export async function registerUsers(baseUrl: string, count: number, concurrency = 4): Promise<BenchUser[]> {
  const password = 'bench-password-1';
  const workspace = 'bench';
  const toUser = (session: Session): BenchUser => ({
    id: session.user.id,
    handle: session.user.handle,
    token: session.accessToken,
  });
  const owner = toUser(await api<Session>(baseUrl, 'POST', '/auth/register', undefined, { workspace, handle: 'u0', password }));
  const users: BenchUser[] = [owner];
  if (count <= 1) return users;
  const { code } = await api<{ code: string }>(baseUrl, 'POST', '/invites', owner.token, { maxUses: 1000 });
  const rest = Array.from({ length: count - 1 }, (_, index) => index + 1);
  await runPool(rest, concurrency, async (index) => {
    const body = { workspace, handle: `u${index}`, password, inviteCode: code };
    users[index] = toUser(await api<Session>(baseUrl, 'POST', '/auth/register', undefined, body));
  });
  return users;
}

/** Creates a group conversation owned by `owner` with `members` (users or agents); returns its id. */
export async function createGroup(
  baseUrl: string,
  owner: BenchUser,
  members: Array<{ type: 'user' | 'agent'; id: string }>,
  title: string,
): Promise<string> {
  const conversation = await api<{ id: string }>(baseUrl, 'POST', '/conversations', owner.token, {
    kind: 'group',
    title,
    members,
  });
  return conversation.id;
}

/** Runs `task` over `items` with at most `concurrency` in flight; rejects on the first failure. */
export async function runPool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Pins the thread of process `pid` whose name (`/proc/<pid>/task/<tid>/comm`, Node's worker
 * `name`) is `name` to `core` with `taskset -p`. Throws when no such thread exists.
 */
function pinThread(pid: number, name: string, core: number): void {
  const tid = readdirSync(`/proc/${pid}/task`).find(
    (task) => readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim() === name,
  );
  if (!tid) throw new Error(`Chorus (pid ${pid}) has no thread named ${name}`);
  execFileSync('taskset', ['-p', '-c', String(core), tid], { stdio: 'ignore' });
}
