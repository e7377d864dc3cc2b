import type { PublicMessage } from './message-shape.ts';

/**
 * Fields of a message that the compact wire form leaves out when they hold their default, and
 * that default. The REST shape and acks always carry them; `message`, `message.done` and
 * `message.updated` frames omit them (docs/protocol.md, "Compact message frames").
 */
export const wireMessageDefaults = {
  threadRootId: null,
  onBehalfOf: null,
  parts: [],
  error: null,
  usage: null,
  runId: null,
  clientMsgId: null,
  editedAt: null,
  deletedAt: null,
  updatedSeq: 0,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  forwardedFrom: null,
} as const satisfies Partial<PublicMessage>;

/** A message as `message` / `message.done` / `message.updated` frames carry it: defaults omitted. */
export type WireMessage = Omit<PublicMessage, keyof typeof wireMessageDefaults> &
  Partial<Pick<PublicMessage, keyof typeof wireMessageDefaults>>;

const isDefault = (value: unknown): boolean => value === null || value === 0 || (Array.isArray(value) && value.length === 0);

/**
 * The compact wire form of `message`: a copy without the fields of `wireMessageDefaults` whose
 * value is that default (null, 0 or an empty array). Key order is kept. Never mutates its input.
 */
export function toWireMessage(message: PublicMessage): WireMessage {
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (key in wireMessageDefaults && isDefault(value)) continue;
    wire[key] = value;
  }
  return wire as WireMessage;
}
