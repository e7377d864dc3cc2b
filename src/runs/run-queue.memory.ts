import { Mailboxes } from './mailbox.ts';
import type { QueuedRun, RunExecutor, RunQueue } from './run-queue.ts';

/**
 * The in-process run queue: a `Mailbox` per key, created on demand and dropped when idle, runs
 * its runs one at a time in submit order. Runs live in memory (a stopped process forgets them;
 * start-up recovery marks their rows `interrupted`). Contract in run-queue.ts.
 */
export class MemoryRunQueue<Local = unknown> implements RunQueue<Local> {
  #mailboxes: Mailboxes;
  #execute: RunExecutor<Local>;

  constructor(execute: RunExecutor<Local>, onError: (error: unknown) => void) {
    this.#execute = execute;
    this.#mailboxes = new Mailboxes(onError);
  }

  startsAtOnce(mailbox: string): boolean {
    return this.#mailboxes.isIdle(mailbox);
  }

  async submit(mailbox: string, run: QueuedRun<Local>): Promise<void> {
    // An in-process executor never defers (one node routes in posting order).
    this.#mailboxes.push(mailbox, async () => {
      await this.#execute(run);
    });
  }

  close(): void {}
}
