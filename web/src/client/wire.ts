import { wireMessageDefaults, type WireMessage } from '../../../src/wire/message.ts';
import type { Message, ServerFrame } from './types.ts';

/**
 * A message in the full REST shape, from either wire form: every field the compact form leaves
 * out at its default (`wireMessageDefaults`, docs/protocol.md "Compact message frames") is filled
 * in (fresh arrays, never shared); present fields are kept as they are.
 */
export function normalizeMessage(wire: WireMessage): Message {
  const message = { ...wire } as Record<string, unknown>;
  for (const [key, value] of Object.entries(wireMessageDefaults))
    if (message[key] === undefined) message[key] = Array.isArray(value) ? [] : value;
  return message as unknown as Message;
}

/** The frame with its `message` (on `message`, `message.done`, `message.updated`) normalised. */
export function normalizeFrame(frame: ServerFrame): ServerFrame {
  if (frame.type === 'message' || frame.type === 'message.done' || frame.type === 'message.updated')
    return { ...frame, message: normalizeMessage(frame.message) };
  return frame;
}
