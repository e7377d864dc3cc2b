import type { BusEvent } from '../bus/event-bus.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import { toWireMessage } from '../messages/wire-message.ts';

/**
 * SPEC §5 server frames that bus events are forwarded as (the forwarding rule in event-bus.ts),
 * plus the Chorus additions `conversation.joined` / `conversation.left` / `conversation.updated`, `document.status`
 * (ingestion progress, on the uploader's `user:<id>` topic) and the advice stream (`advice.delta`,
 * `advice.done`, `advice.updated`: only ever on a `user:` topic).
 */
export const forwardedTypes: ReadonlySet<string> = new Set([
  'message',
  'message.delta',
  'message.done',
  'message.updated',
  'typing',
  'presence',
  'read',
  'run.step',
  'advice',
  'advice.delta',
  'advice.done',
  'advice.updated',
  'human.request',
  'conversation.joined',
  'conversation.left',
  'conversation.updated',
  'document.status',
]);

/**
 * One server frame on its way to many recipients. The JSON text, the WebSocket payload bytes and
 * the SSE record are each built at most once, on first use, however many recipients there are.
 * `seq` is set on `message` frames (the message's per-conversation position). A `message`,
 * `message.done` or `message.updated` frame's message is serialised in its compact wire form
 * (`toWireMessage`: fields at their default left out); `frame` itself keeps the full message.
 */
export class OutboundEvent {
  readonly frame: BusEvent;
  readonly conversationId: string | undefined;
  readonly seq: number | undefined;
  #json: string | undefined;
  #bytes: Buffer | undefined;
  #wsFrame: Buffer | undefined;
  #sse: Buffer | undefined;

  constructor(frame: BusEvent) {
    this.frame = frame;
    this.conversationId = conversationIdOf(frame);
    this.seq = frame.type === 'message' ? seqOf(frame) : undefined;
  }

  get type(): string {
    return this.frame.type;
  }

  get json(): string {
    this.#json ??= JSON.stringify(carriesMessage.has(this.frame.type) ? compactFrame(this.frame) : this.frame);
    return this.#json;
  }

  /** UTF-8 bytes of `json`, shared by every WebSocket send (ws does not copy unmasked buffers). */
  get bytes(): Buffer {
    this.#bytes ??= Buffer.from(this.json, 'utf8');
    return this.#bytes;
  }

  /**
   * The complete unmasked WebSocket text frame (RFC 6455 header + `bytes`), built once and written
   * as is to every recipient socket: one write of a shared buffer per recipient.
   */
  get wsFrame(): Buffer {
    this.#wsFrame ??= encodeTextFrame(this.bytes);
    return this.#wsFrame;
  }

  /** The SSE record as UTF-8: `event:`, `id:` (the seq, on `message` only), `data:`. JSON has no raw newlines. */
  get sse(): Buffer {
    this.#sse ??= Buffer.from(
      `event: ${this.type}\n${this.seq === undefined ? '' : `id: ${this.seq}\n`}data: ${this.json}\n\n`,
      'utf8',
    );
    return this.#sse;
  }
}

/** Frames whose `message` goes out in its compact wire form (defaults omitted; see wire-message.ts). */
const carriesMessage: ReadonlySet<string> = new Set(['message', 'message.done', 'message.updated']);

function compactFrame(frame: BusEvent): BusEvent {
  const message = frame.message as PublicMessage | undefined;
  return message && typeof message === 'object' ? { ...frame, message: toWireMessage(message) } : frame;
}

function conversationIdOf(frame: BusEvent): string | undefined {
  if (typeof frame.conversationId === 'string') return frame.conversationId;
  const message = frame.message as { conversationId?: unknown } | undefined;
  return typeof message?.conversationId === 'string' ? message.conversationId : undefined;
}

function seqOf(frame: BusEvent): number | undefined {
  const seq = (frame.message as { seq?: unknown } | undefined)?.seq;
  return typeof seq === 'number' ? seq : undefined;
}

/** A single-fragment (FIN) server-to-client text frame around `payload`. */
function encodeTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}
