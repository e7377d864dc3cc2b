import type { Message, ServerFrame } from './types.ts';

/**
 * The defaults a compact `message` object on the wire leaves out (docs/protocol.md, "Compact
 * message frames"): an absent field means exactly this value. REST answers and acks are full.
 */
const messageDefaults = {
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
} satisfies Partial<Message>;

/**
 * A message in the full REST shape, from either wire form: every absent default field is filled
 * in (fresh arrays, never shared); present fields are kept as they are.
 */
export function normalizeMessage(wire: Partial<Message> & Pick<Message, 'id' | 'conversationId' | 'seq'>): Message {
  const message = { ...wire } as Record<string, unknown>;
  for (const [key, value] of Object.entries(messageDefaults))
    if (message[key] === undefined) message[key] = Array.isArray(value) ? [] : value;
  return message as unknown as Message;
}

/** The frame with its `message` (on `message`, `message.done`, `message.updated`) normalised. */
export function normalizeFrame(frame: ServerFrame): ServerFrame {
  if (frame.type === 'message' || frame.type === 'message.done' || frame.type === 'message.updated')
    return { ...frame, message: normalizeMessage(frame.message) };
  return frame;
}
