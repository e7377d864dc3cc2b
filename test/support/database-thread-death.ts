/**
 * Child-process fixture for test/db/pglite-worker.test.ts: starts a real Chorus node on PGlite
 * (data in `CHORUS_DATA_DIR`) through `startServer`, then ends its database thread as a crash
 * would. The process must then log one fatal line and exit 1 by itself; it prints nothing else.
 */
import { loadConfig } from '../../src/config/config.ts';
import type { PgliteWorkerClient } from '../../src/db/pglite-client.ts';
import { startServer } from '../../src/main.ts';

const config = loadConfig({ CHORUS_DATA_DIR: process.env.CHORUS_DATA_DIR!, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
const { context } = await startServer(config);
await (context.database.db as unknown as { $client: PgliteWorkerClient }).$client.terminate();
