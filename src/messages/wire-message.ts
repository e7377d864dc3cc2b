import { wireMessageDefaults, type PublicMessage, type WireMessage } from '../wire/message.ts';

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
