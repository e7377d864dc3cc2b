/**
 * Baseline (a), the Node ceiling: a raw `ws` server with rooms (`/?room=<n>`). Each incoming
 * text message is framed once and the same bytes are written, corked, to every socket of the
 * sender's room, sender included (fanout-writer.ts). `GET /loop-delay` reports its event-loop
 * delay. Prints `listening <port>` on stdout. Usage: node raw-ws-server.ts [port]
 */
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { broadcast } from './fanout-writer.ts';
import { serveLoopDelay } from './loop-delay.ts';

const rooms = new Map<string, Set<WebSocket>>();
const http = createServer((request, response) => {
  if (!serveLoopDelay(request, response)) response.writeHead(404).end();
});
const server = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1 << 20 });

server.on('connection', (ws, request) => {
  const room = new URL(request.url ?? '/', 'http://x').searchParams.get('room') ?? '0';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    if (!isBinary) broadcast(members, data as Buffer);
  });
  ws.on('close', () => members.delete(ws));
});

http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
