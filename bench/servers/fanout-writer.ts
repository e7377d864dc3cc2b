/**
 * The raw `ws` baselines' delivery path: a text message is framed once (`Sender.frame`) and the
 * same bytes are written to every recipient's socket, each socket corked on its first write in
 * an event-loop turn and uncorked in `setImmediate`, so a turn's frames leave in one syscall.
 */
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket } from 'ws';

/** ws's frame encoder: exported at run time, absent from @types/ws. */
interface FrameEncoder {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
const { Sender } = wsModule as unknown as { Sender: FrameEncoder };

const corked = new Set<Socket>();
let uncorkScheduled = false;

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
  uncorkScheduled = false;
}

function writeCorked(socket: Socket, frame: Buffer): void {
  if (!corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      setImmediate(uncorkAll);
    }
  }
  socket.write(frame);
}

// ws keeps the raw socket private; the baselines write pre-framed bytes to it directly.
const socketOf = (peer: WebSocket) => (peer as unknown as { _socket: Socket })._socket;

/** Frames `payload` (UTF-8 text) once and writes it to every open socket of `peers`. */
export function broadcast(peers: Iterable<WebSocket>, payload: Buffer): void {
  const parts = Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  for (const peer of peers) if (peer.readyState === WebSocket.OPEN) writeCorked(socketOf(peer), frame);
}
