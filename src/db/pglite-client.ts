import { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import type { PgliteRequest, PgliteWorkerData, PgliteWorkerMessage, WireError } from './pglite-worker.ts';

/** Per-type parsers of raw Postgres text, as PGlite's `QueryOptions.parsers` (drizzle passes identities for dates). */
type Parsers = Record<number, (value: string, typeId: number) => unknown>;
/** What `query` accepts of PGlite's `QueryOptions`. */
interface QueryOptions {
  rowMode?: 'object' | 'array';
  parsers?: Parsers;
}

/** An interactive transaction on the worker: each statement is one round trip. */
export interface PgliteWorkerTransaction {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
  /** Rolls the transaction back now; it is closed afterwards. */
  rollback(): Promise<void>;
  readonly closed: boolean;
}

type Request = PgliteRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/**
 * The JavaScript heap limits of the database thread. Its heap holds PGlite's JavaScript, query
 * parameters and result rows (PGlite's WASM memory, with Postgres' shared buffers, is outside it).
 * A young generation of 8 MB (4 MB semi-spaces, as the main thread's `--max-semi-space-size=8`
 * gives 8 MB ones) keeps the idle isolate small; 256 MB of old space is far above what a
 * 256-message group statement or a page of history needs.
 */
const resourceLimits = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 256 };

/**
 * The main thread's handle on PGlite running in a worker thread (src/db/pglite-worker.ts): the
 * subset of PGlite's client that drizzle-orm/pglite (`query` with `rowMode`/`parsers`,
 * `transaction`), the migrator and `prepareStatement` (`exec`) use. Values come back exactly as
 * PGlite parses them in-process (structured clone keeps Date, bigint, Uint8Array, parsed JSON);
 * caller parsers run here on the raw text of their types. Errors carry PGlite's fields (`code`
 * 23505 for a unique violation…). When the thread dies unexpectedly every pending and later call
 * rejects and `onExit` is called once with the reason.
 */
export class PgliteWorkerClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly #drainWaiters: Array<() => void> = [];
  #lastId = 0;
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /**
   * Starts the thread and opens PGlite in it (`dataDir` an existing cluster directory, or
   * undefined for memory). Rejects with the thread's error when PGlite cannot open. `onExit` gets
   * the error when the thread later exits without `close()`; `onLog` gets the thread's log lines
   * (a failed checkpoint).
   */
  static start(options: {
    dataDir: string | undefined;
    pgvector: boolean;
    onExit?: (error: Error) => void;
    onLog?: (message: string, error: Error) => void;
  }): Promise<PgliteWorkerClient> {
    const workerData: PgliteWorkerData = { dataDir: options.dataDir, pgvector: options.pgvector };
    const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), {
      workerData,
      resourceLimits,
      name: 'chorus-pglite',
    });
    const client = new PgliteWorkerClient(worker);
    return new Promise((resolve, reject) => {
      let ready = false;
      let lastError: Error | undefined;
      worker.on('message', (message: PgliteWorkerMessage) => {
        if ('ready' in message) {
          ready = true;
          resolve(client);
        } else if ('log' in message) {
          options.onLog?.(message.log, fromWire(message.error));
        } else {
          client.#settle(message);
        }
      });
      worker.on('error', (error) => (lastError = error));
      worker.on('exit', (code) => {
        const error = new Error(`the embedded database thread exited (code ${code})`, { cause: lastError });
        client.#failure ??= error;
        for (const pending of client.#pending.values()) pending.reject(error);
        client.#pending.clear();
        for (const wake of client.#drainWaiters.splice(0)) wake();
        if (!ready) reject(lastError ?? error);
        else if (!client.#closing) options.onExit?.(error);
      });
    });
  }

  /** One statement with `$1`… parameters; see `PGlite.query`. */
  query<T>(sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<Results<T>> {
    return this.#query<T>(0, sql, params, options);
  }

  /** Several `;`-separated statements without parameters; resolves to one result per statement. */
  exec(sql: string): Promise<Results[]> {
    return this.#call({ op: 'exec', sql, tx: 0 }) as Promise<Results[]>;
  }

  /**
   * Runs `callback` in a transaction: committed when it resolves, rolled back when it throws (then
   * rethrows) or calls `tx.rollback()`. Other statements wait until it ends (PGlite's mutex).
   */
  async transaction<T>(callback: (tx: PgliteWorkerTransaction) => Promise<T>): Promise<T> {
    const id = (await this.#call({ op: 'begin' })) as number;
    let closed = false;
    const end = async (commit: boolean) => {
      if (closed) return;
      closed = true;
      await this.#call({ op: 'end', tx: id, commit });
    };
    const tx: PgliteWorkerTransaction = {
      query: (sql, params = [], options = {}) => this.#query(id, sql, params, options),
      exec: (sql) => this.#call({ op: 'exec', sql, tx: id }) as Promise<Results[]>,
      rollback: () => end(false),
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await callback(tx);
    } catch (error) {
      await end(false).catch(() => {}); // the callback's error is the one to report
      throw error;
    }
    await end(true);
    return result;
  }

  /**
   * Waits until no call is in flight (calls made before or while closing still run: writes acked
   * to clients are committed by then), closes PGlite cleanly in the thread (a shutdown checkpoint)
   * and ends the thread. Later calls reject. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A caller may be a few promise hops away from sending its statement (drizzle's are, and a
      // statement that completes may be followed by its caller's next): yield a turn after each
      // drain, and stop only when a turn passed with nothing pending.
      for (;;) {
        await new Promise(setImmediate);
        if (this.#pending.size === 0 || this.#failure) break;
        while (this.#pending.size > 0 && !this.#failure) await this.#drained();
      }
      const crashed = this.#failure !== undefined;
      this.#failure ??= new Error('the embedded database is closed');
      if (!crashed) await this.#send({ op: 'close' });
      await this.#worker.terminate();
    })();
    return this.#closing;
  }

  /** Stops the thread at once, as a crash would (tests; pending calls reject, `onExit` is called). */
  terminate(): Promise<number> {
    return this.#worker.terminate();
  }

  /** Resolves when no call is pending (or the thread has exited). */
  #drained(): Promise<void> {
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  async #query<T>(tx: number, sql: string, params: unknown[], options: QueryOptions): Promise<Results<T>> {
    const parsers = options.parsers;
    const textTypes = parsers ? Object.keys(parsers).map(Number) : [];
    const result = (await this.#call({
      op: 'query',
      sql,
      params,
      rowMode: options.rowMode ?? 'object',
      textTypes,
      tx,
    })) as Results<T>;
    if (parsers && textTypes.length > 0) applyParsers(result, parsers, options.rowMode === 'array');
    return result;
  }

  #call(request: Request): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    return this.#send(request);
  }

  #send(request: Request): Promise<unknown> {
    const id = ++this.#lastId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id } as PgliteRequest);
    });
  }

  #settle(message: { id: number; result: unknown } | { id: number; error: WireError }): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if ('error' in message) pending.reject(fromWire(message.error));
    else pending.resolve(message.result);
    if (this.#pending.size === 0) for (const wake of this.#drainWaiters.splice(0)) wake();
  }
}

/** An `Error` with the thread's message and Postgres fields (`code`, `detail`, `constraint`…). */
function fromWire(wire: WireError): Error {
  const { message, stack: _stack, ...fields } = wire;
  return Object.assign(new Error(message), fields);
}

/** Runs the caller's parsers over the columns of their types, in place; nulls stay null. */
function applyParsers(result: Results<unknown>, parsers: Parsers, arrayMode: boolean): void {
  result.fields.forEach((field, index) => {
    const parse = parsers[field.dataTypeID];
    if (!parse) return;
    const key = arrayMode ? index : field.name;
    for (const row of result.rows as Array<Record<string | number, unknown>>) {
      const value = row[key];
      if (value !== null && value !== undefined) row[key] = parse(value as string, field.dataTypeID);
    }
  });
}
