import { sql } from 'drizzle-orm';
import type { Executor } from '../db/database.ts';
import { messages } from '../db/schema.ts';

/**
 * Saves the streamed-so-far content of many `streaming` messages in one UPDATE per flush: with a
 * thousand replies streaming at once, a statement per reply per second would be a thousand
 * round trips a second into the database. `save` resolves when the batch holding it is written
 * (or rejects with its error); only the latest content per message is written. A message no
 * longer `streaming` is left alone, so a final write is never overwritten.
 */
export class PartialContentWriter {
  readonly #db: Executor;
  #pending = new Map<string, { content: string; settle: Array<(error?: unknown) => void> }>();
  #flushing = false;

  constructor(db: Executor) {
    this.#db = db;
  }

  save(messageId: string, content: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.#pending.get(messageId) ?? { content, settle: [] };
      entry.content = content;
      entry.settle.push((error) => (error === undefined ? resolve() : reject(error)));
      this.#pending.set(messageId, entry);
      if (!this.#flushing) setImmediate(() => void this.#flush());
      this.#flushing = true;
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    let failure: unknown;
    try {
      const rows = sql.join(
        [...batch].map(([id, entry]) => sql`(${id}::uuid, ${entry.content}::text)`),
        sql`, `,
      );
      await this.#db.execute(sql`
        update ${messages} as m set content = v.content
        from (values ${rows}) as v(id, content)
        where m.id = v.id and m.status = 'streaming'`);
    } catch (error) {
      failure = error ?? new Error('saving partial content failed');
    }
    for (const entry of batch.values()) for (const settle of entry.settle) settle(failure);
    if (this.#pending.size > 0) setImmediate(() => void this.#flush());
    else this.#flushing = false;
  }
}
