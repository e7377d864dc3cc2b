/**
 * Baseline (b): a Socket.IO 4 server with rooms, websocket transport only. A client joins the
 * room named by its handshake query `room`; each `msg` event is re-emitted to the whole room
 * (sender included) with `io.to(room).emit`, which encodes the packet once per broadcast.
 * `GET /loop-delay` reports its event-loop delay. Prints `listening <port>` on stdout.
 * Usage: node socketio-server.ts [port]
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { serveLoopDelay } from './loop-delay.ts';

const http = createServer();
// Socket.IO answers its own path; every other request reaches this listener too.
http.on('request', (request, response) => void serveLoopDelay(request, response));
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1 << 20,
});

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '0');
  void socket.join(room);
  socket.on('msg', (payload: unknown) => {
    io.to(room).emit('msg', payload);
  });
});

http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
