/**
 * A mailbox: jobs run one at a time, in the order pushed. A job that throws does not stop the
 * ones after it (its error goes to `onError`). `onIdle` is called when the queue drains.
 */
export class Mailbox {
  #jobs: Array<() => Promise<void>> = [];
  #running = false;
  #onError: (error: unknown) => void;
  #onIdle: () => void;

  constructor(options: { onError: (error: unknown) => void; onIdle: () => void }) {
    this.#onError = options.onError;
    this.#onIdle = options.onIdle;
  }

  get size(): number {
    return this.#jobs.length + (this.#running ? 1 : 0);
  }

  push(job: () => Promise<void>): void {
    this.#jobs.push(job);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    for (let job = this.#jobs.shift(); job; job = this.#jobs.shift()) {
      try {
        await job();
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#running = false;
    this.#onIdle();
  }
}

/** Mailboxes by key (`conversationId:agentId`), created on demand and dropped when idle. */
export class Mailboxes {
  #boxes = new Map<string, Mailbox>();
  #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** True when `key` has no job queued or running, so a job pushed now starts at once. */
  isIdle(key: string): boolean {
    return !this.#boxes.has(key);
  }

  /** Queues `job` behind the other jobs of `key`; other keys never wait on it. */
  push(key: string, job: () => Promise<void>): void {
    let box = this.#boxes.get(key);
    if (!box) {
      box = new Mailbox({ onError: this.#onError, onIdle: () => this.#boxes.delete(key) });
      this.#boxes.set(key, box);
    }
    box.push(job);
  }
}

/**
 * Runs tasks per key strictly in call order (a promise chain per key), so async routing of a
 * conversation's messages keeps their order. Errors go to `onError`; the chain continues.
 */
export class OrderedTasks {
  #tails = new Map<string, Promise<void>>();
  #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Runs `task` after every task queued earlier for `key`; resolves with its result. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      (error: unknown) => this.#onError(error),
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
