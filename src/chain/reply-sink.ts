import type { MessagePart } from '../messages/message-shape.ts';
import type { RunStep } from './run-step.ts';

/**
 * The output side of a run: where its text, parts and step frames go. The chain only writes here,
 * so where a reply lands is one seam: the conversation's agent message (src/runs/conversation-reply.ts),
 * the collected answer of a `call_agent` sub-run, or (bindings) a private advice.
 */
export interface ReplySink {
  /** Makes the reply exist (idempotent): called when the model request is out or a step needs it. Rejects when it cannot. */
  open(): Promise<void>;
  /** All text so far. */
  readonly text: string;
  /** All parts so far (tool calls, citations, human requests). */
  readonly parts: readonly MessagePart[];
  /** Appends text (streamed to viewers, coalesced). */
  pushText(delta: string): void;
  /** Adds a part (`index === parts.length`) or replaces one, and shows the change live. */
  putPart(index: number, part: MessagePart): void;
  /** Shows a step that started or finished (a `run.step` frame); the step is copied. */
  publishStep(step: RunStep): void;
}

/** A sink that only collects (a `call_agent` sub-run: its answer becomes the calling step's output). */
export class CollectingSink implements ReplySink {
  text = '';
  parts: MessagePart[] = [];

  async open(): Promise<void> {}

  pushText(delta: string): void {
    this.text += delta;
  }

  putPart(index: number, part: MessagePart): void {
    this.parts[index] = part;
  }

  publishStep(): void {}
}
