/**
 * Worker-thread entry: owns the embedded PGlite (its WASM, WAL writes and checkpoints run on this
 * thread, never on the event loop that delivers frames) and answers `PgliteRequest`s from the
 * main thread's `PgliteWorkerClient` (src/db/pglite-client.ts). Loads PGlite only (no drizzle, no
 * app code), to keep the second V8 isolate small. See docs/decisions/0017-pglite-in-a-worker-thread.md.
 *
 * Protocol, one message each way per call (structured clone; SQL and parameters in, rows out):
 * - `query`: `client.query(sql, params, { rowMode })`, run in the transaction `tx` when not 0.
 *   Columns whose type is in `textTypes` come back as Postgres' text (the caller parses them: its
 *   parsers are functions, which cannot cross the thread). Replies with PGlite's `Results`.
 * - `exec`: `client.exec(sql)` (several statements, no parameters); replies with `Results[]`.
 * - `begin`: opens an interactive transaction (PGlite's own mutex holds every other statement
 *   until it ends); replies with its id. `end` commits it (`commit: true`) or rolls it back, and
 *   replies once that is done.
 * - `close`: stops the checkpoints, closes PGlite (a clean shutdown: checkpoint, WAL flushed),
 *   replies; the main thread then terminates the thread.
 * A failed call replies `{ id, error }`: the error's message and its Postgres fields (`code`,
 * `detail`, `constraint`…). A checkpoint failure is posted as `{ log, error }`. Requests are
 * handled concurrently as they arrive, in order, exactly as calls on an in-process PGlite are.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Results, type Transaction } from '@electric-sql/pglite';
import { checkpointCheckMs, checkpointIfDue, checkpointWalBytes, pgliteOptions } from './pglite-settings.ts';

/** What the thread is started with: the cluster directory (undefined: in memory) and whether to load pgvector. */
export interface PgliteWorkerData {
  dataDir: string | undefined;
  pgvector: boolean;
}

/** A call from the main thread; `id` pairs it with its reply, `tx` 0 is outside any transaction. */
export type PgliteRequest =
  | { id: number; op: 'query'; sql: string; params: unknown[]; rowMode: 'object' | 'array'; textTypes: number[]; tx: number }
  | { id: number; op: 'exec'; sql: string; tx: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'close' };

/** An error as it crosses the thread: its message and its string fields (Postgres' `code`, `detail`…). */
export type WireError = { message: string } & Record<string, string | undefined>;

/** A message from the thread: `ready` once PGlite is open, a reply to a request, or a log line. */
export type PgliteWorkerMessage =
  { ready: true } | { id: number; result: unknown } | { id: number; error: WireError } | { log: string; error: WireError };

const port = parentPort!;
const { dataDir, pgvector } = workerData as PgliteWorkerData;
const options = pgvector
  ? { ...pgliteOptions, extensions: { vector: (await import('@electric-sql/pglite-pgvector')).vector } }
  : pgliteOptions;
const client = dataDir === undefined ? new PGlite(options) : new PGlite(dataDir, options);
await client.waitReady;
// Opening leaves garbage in this isolate (PGlite's bundle, start-up buffers) that an idle server's
// V8 may not collect for hours; the main thread does the same once listening (`--expose-gc`, cli.ts).
(globalThis as { gc?: () => void }).gc?.();

interface OpenTransaction {
  tx: Transaction;
  end(commit: boolean): void;
  done: Promise<void>;
}
const transactions = new Map<number, OpenTransaction>();
let lastTransactionId = 0;

/** Resolves with the id of a new transaction once BEGIN ran; it stays open until `end`. */
function begin(): Promise<number> {
  return new Promise((resolve, reject) => {
    const id = ++lastTransactionId;
    let end!: (commit: boolean) => void;
    const decided = new Promise<boolean>((decide) => (end = decide));
    const done = client
      .transaction(async (tx) => {
        transactions.set(id, { tx, end, done });
        resolve(id);
        if (!(await decided)) await tx.rollback();
      })
      .finally(() => transactions.delete(id));
    done.catch(reject); // BEGIN itself failed; a failed COMMIT is reported to `end`
  });
}

function executor(tx: number): PGlite | Transaction {
  if (tx === 0) return client;
  const open = transactions.get(tx);
  if (!open) throw new Error(`transaction ${tx} is not open`);
  return open.tx;
}

const identity = (value: string) => value;

async function handle(request: PgliteRequest): Promise<unknown> {
  switch (request.op) {
    case 'query': {
      const parsers = Object.fromEntries(request.textTypes.map((type) => [type, identity]));
      const result: Results = await executor(request.tx).query(request.sql, request.params, {
        rowMode: request.rowMode,
        parsers,
      });
      return result;
    }
    case 'exec':
      return executor(request.tx).exec(request.sql);
    case 'begin':
      return begin();
    case 'end': {
      const open = transactions.get(request.tx);
      if (!open) throw new Error(`transaction ${request.tx} is not open`);
      open.end(request.commit);
      await open.done;
      return undefined;
    }
    case 'close':
      clearInterval(checkpoints);
      await client.close();
      return undefined;
  }
}

/** The message and string fields of `error`, which structured clone would not all keep. */
function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { message: String(error) };
  const wire: WireError = { message: error.message };
  for (const [key, value] of Object.entries(error)) if (typeof value === 'string') wire[key] = value;
  return wire;
}

const checkpoints =
  dataDir === undefined
    ? undefined
    : setInterval(() => {
        checkpointIfDue(client, checkpointWalBytes).catch((error: unknown) =>
          port.postMessage({ log: 'PGlite checkpoint failed', error: toWire(error) } satisfies PgliteWorkerMessage),
        );
      }, checkpointCheckMs);

port.on('message', (request: PgliteRequest) => {
  handle(request).then(
    (result) => port.postMessage({ id: request.id, result } satisfies PgliteWorkerMessage),
    (error: unknown) => port.postMessage({ id: request.id, error: toWire(error) } satisfies PgliteWorkerMessage),
  );
});
port.postMessage({ ready: true } satisfies PgliteWorkerMessage);
