import type { PGlite } from '@electric-sql/pglite';

/**
 * PGlite's server settings. Its WASM memory holds Postgres' shared memory, all of it resident:
 * - `shared_buffers` 8 MB (Postgres' default is 128 MB: ~170 MB of RSS here): the OS page cache
 *   already caches the data files; 32 → 16 → 8 MB measured -18 and -9 MB of RSS.
 * - One backend, never replication: `max_connections` 4 and no reserved, WAL-sender or
 *   replication-slot entries size the lock table and process arrays for that (-4 MB).
 * - `wal_init_zero=off`: a new 16 MB WAL segment is not zero-filled first. PGlite writes through
 *   synchronous file calls, so each zero-fill (every ~9 s at 2,400 stored messages/s, ~750 bytes
 *   of WAL each) stalled its thread (then the event loop): 100-row group statements, 300 in a row,
 *   max 40 → 19–23 ms, p99 21–28 → 13 ms. Zero-filling only reserves disk space early, and PGlite
 *   never fsyncs anyway (docs/configuration.md); as on copy-on-write file systems, it buys nothing.
 */
export const pgliteOptions = {
  postgresqlconf: [
    'shared_buffers=8MB',
    'work_mem=4MB',
    'maintenance_work_mem=16MB',
    'max_connections=4',
    'superuser_reserved_connections=0',
    'max_wal_senders=0',
    'max_replication_slots=0',
    'wal_init_zero=off',
  ],
};

/** How often a stored PGlite looks at its WAL, and how much of it since the last checkpoint makes it checkpoint. */
export const checkpointCheckMs = 60_000;
export const checkpointWalBytes = 32 * 1024 * 1024;

/**
 * Runs `CHECKPOINT` when at least `minWalBytes` of WAL were written since the last one; resolves
 * whether it did. PGlite is Postgres as a single-user backend, which has no checkpointer process
 * and never checkpoints on its own (`max_wal_size` and `checkpoint_timeout` are not acted on): its
 * pg_wal grew by ~750 bytes per stored message until the next clean shutdown, and a crash would
 * replay all of it at the next start. A checkpoint writes at most the 8 MB of shared buffers
 * (18–37 ms measured, on the database worker thread), after which the old segments are recycled.
 * Throws what the query throws.
 */
export async function checkpointIfDue(client: PGlite, minWalBytes: number): Promise<boolean> {
  const { rows } = await client.query<{ distance: string | number }>(
    'select pg_current_wal_insert_lsn() - redo_lsn as distance from pg_control_checkpoint()',
  );
  if (Number(rows[0]?.distance ?? 0) < minWalBytes) return false;
  await client.exec('checkpoint');
  return true;
}
