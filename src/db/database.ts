import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import type { Logger } from 'pino';
import { PgliteWorkerClient } from './pglite-client.ts';
import * as schema from './schema.ts';

type Schema = typeof schema;
/** A Drizzle database over either driver; features depend on this type only. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle, as passed to `db.transaction(async (tx) => …)`. */
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either a database or an open transaction: functions that can join a caller's transaction take this. */
export type Executor = Db | Tx;

/** An open database with its lifecycle. `kind` says which driver is behind `db`. */
export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Applies pending migrations from src/db/migrations (idempotent). */
  migrate(): Promise<void>;
  /** Resolves when a trivial query succeeds; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Opens PostgreSQL when `databaseUrl` is set, else PGlite stored in `<dataDir>/pglite`
 * (or in memory when `dataDir` is `:memory:`, for tests). Does not migrate. Only the driver of the
 * mode in use is loaded (PGlite or node-postgres: a few MB of heap each). PGlite runs in a worker
 * thread (`PgliteWorkerClient`, docs/decisions/0017-pglite-in-a-worker-thread.md), which also
 * checkpoints a stored database (`checkpointIfDue`); `logger` gets checkpoint failures, and
 * `onWorkerExit` the error when that thread dies while open (every query fails from then on: the
 * server should exit). `pgvector` loads PGlite's pgvector build (@electric-sql/pglite-pgvector) so
 * that `create extension vector` works there; only asked for when an embedding model is configured,
 * since it costs resident memory (docs/decisions/0013-pgvector-on-pglite.md). PostgreSQL has
 * pgvector when its server has it installed.
 */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  logger?: Logger;
  pgvector?: boolean;
  onWorkerExit?: (error: Error) => void;
}): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl);
  return openPglite(options.dataDir, options.logger, options.pgvector ?? false, options.onWorkerExit);
}

async function openPglite(
  dataDir: string,
  logger: Logger | undefined,
  pgvector: boolean,
  onWorkerExit: ((error: Error) => void) | undefined,
): Promise<Database> {
  const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  let dir: string | undefined;
  if (dataDir !== ':memory:') {
    dir = path.join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    if (!existsSync(path.join(dir, 'PG_VERSION'))) await createPgliteCluster(dir);
  }
  const client = await PgliteWorkerClient.start({
    dataDir: dir,
    pgvector,
    onExit: onWorkerExit,
    onLog: (message, error) => logger?.error({ err: error }, message),
  });
  const db = drizzlePglite({ client: client as never, schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}

/**
 * Runs PGlite's initdb for `dir` in a short-lived child process (src/db/pglite-initdb.ts) instead of
 * in this one. On a fresh directory PGlite boots a second WASM instance to run initdb; in-process,
 * that leaves ~30 MB of freed but resident malloc memory (fragmented between long-lived allocations,
 * so glibc cannot return it) for the life of the server. Measured with `chorus start` on a fresh
 * directory, RSS 5 s after start: 229–275 MB in-process ([heap] 41 MB), 197–202 MB with the child
 * ([heap] 11 MB). Costs ~1.5 s once, on the first start. Rejects with the child's stderr when initdb
 * fails. See docs/decisions/0006-process-memory-settings.md.
 */
function createPgliteCluster(dir: string): Promise<void> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pglite-initdb.ts');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, dir], { maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`PGlite initdb in ${dir} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve();
    });
  });
}

/** The advisory lock key migrations hold on PostgreSQL (an arbitrary constant: "chorus" in ASCII). */
const migrationLockKey = 0x63686f727573;

async function openPostgres(databaseUrl: string): Promise<Database> {
  const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it and the next query reports the cause.
  });
  const db = drizzlePg({ client: pool, schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    migrate: async () => {
      // Nodes of a cluster start together: one migrates at a time (a session advisory lock held on
      // its own connection), the others then find nothing left to apply.
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [migrationLockKey]);
        try {
          await migratePg(db as never, { migrationsFolder });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [migrationLockKey]);
        }
      } finally {
        client.release();
      }
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => pool.end(),
  };
}

/** A prepared statement run by name with its parameters (`$1`…, text or null, in order); resolves to its rows (types parsed by the driver). */
export type PreparedStatement = (...params: Array<string | null>) => Promise<Array<Record<string, unknown>>>;

/**
 * Parses and plans `text` once per database session (Postgres' PREPARE / the extended protocol's
 * named statements) instead of on every call: for a large statement this is most of its cost on
 * PGlite. `name` must be unique per statement text and a plain identifier; `paramTypes` are the
 * SQL types of `$1`… (the text should cast them too, for node-postgres). On PostgreSQL each pooled
 * connection prepares it on first use (node-postgres named queries). On PGlite, whose EXECUTE
 * cannot take bind parameters, each parameter is sent as a quoted literal (standard_conforming_strings
 * is on, so doubling quotes is the complete escape).
 */
export function prepareStatement(db: Db, name: string, paramTypes: string[], text: string): PreparedStatement {
  const client = (db as unknown as { $client: PgliteWorkerClient | pg.Pool }).$client;
  // node-postgres's Pool has no `exec` (and its module is not loaded in PGlite mode to check against).
  if (!('exec' in client)) {
    return async (...params) => (await client.query({ name, text, values: params })).rows;
  }
  let prepared: Promise<unknown> | undefined;
  return async (...params) => {
    prepared ??= client.exec(`prepare ${name}(${paramTypes.join(', ')}) as ${text}`).catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    await prepared;
    const literals = params.map((param) => (param === null ? 'null' : `'${param.replaceAll("'", "''")}'`));
    const results = await client.exec(`execute ${name}(${literals.join(', ')})`);
    return (results.at(-1)?.rows ?? []) as Array<Record<string, unknown>>;
  };
}
