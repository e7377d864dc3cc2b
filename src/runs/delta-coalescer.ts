/** Where a reply's live text goes once its record exists (see `LiveText.start`). */
export interface LiveTextOutput {
  /** Publishes a coalesced delta starting at `offset` (UTF-16 code units) of the text. */
  publish(delta: string, offset: number): void;
  /** Stores the text so far (a partial save; the final write is the reply's own). */
  save(text: string): Promise<void>;
  onSaveError(error: unknown): void;
  coalesceMs: number;
  saveIntervalMs: number;
}

/**
 * A streaming reply's text (a conversation message or an advice): accumulated from the first
 * delta, held while the reply's record is being created, then published as coalesced deltas that
 * each carry their offset in the text, and saved periodically.
 */
export class LiveText {
  text = '';
  #coalescer: DeltaCoalescer | undefined;
  #saver: PartialSaver | undefined;

  /** Whether `start` ran: deltas now go out live. */
  get started(): boolean {
    return this.#coalescer !== undefined;
  }

  /** Starts publishing and saving; the text held so far goes out as the first delta. */
  start(output: LiveTextOutput): void {
    let published = 0; // the next delta's offset
    this.#coalescer = new DeltaCoalescer((delta) => {
      output.publish(delta, published);
      published += delta.length;
    }, output.coalesceMs);
    this.#saver = new PartialSaver(() => output.save(this.text), output.saveIntervalMs, output.onSaveError);
    if (this.text !== '') this.#pushLive(this.text);
  }

  push(delta: string): void {
    if (delta === '') return;
    this.text += delta;
    if (this.#coalescer) this.#pushLive(delta);
  }

  /** Publishes the pending delta now (before a part change or the end, so deltas never trail them). */
  flush(): void {
    this.#coalescer?.flush();
  }

  /** Flushes, then stops saving and waits for a save in flight: the final write comes after. */
  async stop(): Promise<void> {
    this.#coalescer?.flush();
    await this.#saver?.stop();
  }

  #pushLive(delta: string): void {
    this.#coalescer!.push(delta);
    this.#saver!.markDirty();
  }
}

/**
 * Coalesces one message's text deltas into at most one publish per `windowMs`. The window opens
 * at the first delta after a flush, so each message has its own timer and flushes are staggered
 * across messages instead of firing on one global tick. `windowMs` 0 publishes every delta.
 */
class DeltaCoalescer {
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  #publish: (delta: string) => void;
  #windowMs: number;

  constructor(publish: (delta: string) => void, windowMs: number) {
    this.#publish = publish;
    this.#windowMs = windowMs;
  }

  push(text: string): void {
    if (text === '') return;
    if (this.#windowMs === 0) {
      this.#publish(text);
      return;
    }
    this.#pending += text;
    this.#timer ??= setTimeout(() => this.flush(), this.#windowMs);
  }

  /** Publishes what is pending now (before `message.done`, so deltas never trail it). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === '') return;
    const delta = this.#pending;
    this.#pending = '';
    this.#publish(delta);
  }
}

/** Saves are due on a shared grid of this many ms, so replies due in the same slot share one UPDATE. */
const saveSlotMs = 100;

/**
 * Saves a streaming message's partial content at most once per `intervalMs` and at least that
 * often while it changes. Saves never overlap; `stop()` cancels the next one and waits for the
 * one in flight, so a final write made after `stop()` is never overwritten.
 *
 * A save is scheduled at the last boundary of a process-wide 100 ms grid before it is due (never
 * later): every reply due in that slot saves in the same event-loop turn, so the
 * `PartialContentWriter` writes them in one statement. On PGlite a one-row UPDATE costs ~1 ms of
 * CPU and a row in a 100-row UPDATE ~0.1–0.2 ms; the slots keep each statement small.
 */
class PartialSaver {
  #save: () => Promise<void>;
  #intervalMs: number;
  #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #dirty = false;
  #stopped = false;
  #lastSavedAt = performance.now();

  constructor(save: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void) {
    this.#save = save;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  markDirty(): void {
    this.#dirty = true;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #schedule(): void {
    if (this.#stopped || this.#timer || this.#inFlight || !this.#dirty) return;
    const due = this.#lastSavedAt + this.#intervalMs;
    const slotMs = Math.min(saveSlotMs, this.#intervalMs);
    const wait = Math.max(0, Math.floor(due / slotMs) * slotMs - performance.now());
    this.#timer = setTimeout(() => this.#run(), wait);
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#dirty = false;
    this.#lastSavedAt = performance.now();
    this.#inFlight = this.#save()
      .catch(this.#onError)
      .finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
  }
}
