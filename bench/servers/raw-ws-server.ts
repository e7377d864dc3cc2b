/**
 * Baseline (a), the Node ceiling: a raw `ws` server with rooms (`/?room=<n>`). Each incoming
 * text message is framed once (`Sender.frame`) and the same bytes are written to every socket
 * of the sender's room, sender included. Each recipient socket is corked on its first write in
 * an event-loop turn and uncorked in `setImmediate`, so a turn's frames leave in one syscall.
 * Prints `listening <port>` on stdout. Usage: node raw-ws-server.ts [port]
 */
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';

/** ws's frame encoder: exported at run time, absent from @types/ws. */
interface FrameEncoder {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
const { Sender } = wsModule as unknown as { Sender: FrameEncoder };

const rooms = new Map<string, Set<WebSocket>>();
const corked = new Set<Socket>();
let uncorkScheduled = false;

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
  uncorkScheduled = false;
}

function writeCorked(socket: Socket, frame: Buffer): void {
  if (process.env.NOCORK) return void socket.write(frame);
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

const server = new WebSocketServer({
  port: Number(process.argv[2] ?? 0),
  host: '127.0.0.1',
  perMessageDeflate: false,
  maxPayload: 1 << 20,
});

server.on('connection', (ws, request) => {
  const room = new URL(request.url ?? '/', 'http://x').searchParams.get('room') ?? '0';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  // ws keeps the raw socket private; the ceiling baseline writes pre-framed bytes to it directly.
  const socketOf = (peer: WebSocket) => (peer as unknown as { _socket: Socket })._socket;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const parts = Sender.frame(data as Buffer, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    for (const peer of members) if (peer.readyState === WebSocket.OPEN) writeCorked(socketOf(peer), frame);
  });
  ws.on('close', () => members.delete(ws));
});

server.on('listening', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
