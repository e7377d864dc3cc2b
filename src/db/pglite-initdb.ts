/**
 * Child-process entry: `node src/db/pglite-initdb.ts <directory>` creates a PGlite cluster (initdb)
 * in `<directory>`, which must not hold one yet, then exits 0; on failure it prints the error to
 * stderr and exits 1. Run by `openDatabase` for a fresh data directory (see `createPgliteCluster`).
 */
import { PGlite } from '@electric-sql/pglite';

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node pglite-initdb.ts <directory>');
  process.exit(1);
}
try {
  const client = new PGlite(directory);
  await client.waitReady;
  await client.close();
} catch (error) {
  console.error(error);
  process.exit(1);
}
