/**
 * Token-streaming baseline: a plain Node relay. It speaks the subset of Chorus's WebSocket
 * protocol the load generator uses (`send` in, `ack`, `message.delta`, `message.done` out), with
 * no auth and no storage: a connection's Bearer token names its viewer group, and each `send`
 * starts one generation whose deltas go to every connection of the sender's group (as Chorus
 * sends a conversation's frames to every connection of its members). Per generation it POSTs to
 * the same OpenAI Chat Completions stand-in with `fetch`, reads the SSE body, and relays the text
 * coalesced like Chorus (src/runs/delta-coalescer.ts: at most one frame per 30 ms per message,
 * the window opening at the first delta after a flush), framed once and written corked.
 * `GET /loop-delay` reports its event-loop delay. Prints `listening <port>` on stdout.
 * Usage: node relay-server.ts <provider base URL, e.g. http://127.0.0.1:9000/v1> [port]
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { readChatCompletionDeltas } from '../lib/chat-completions-stream.ts';
import { broadcast } from './fanout-writer.ts';
import { serveLoopDelay } from './loop-delay.ts';

const providerUrl = `${process.argv[2]}/chat/completions`;
const coalesceMs = 30;
const groups = new Map<string, Set<WebSocket>>();

const send = (peers: Iterable<WebSocket>, frame: object) => broadcast(peers, Buffer.from(JSON.stringify(frame)));

/** Streams one reply from the provider to `viewers`, coalescing its text deltas. */
async function relay(viewers: Set<WebSocket>, conversationId: string, content: string): Promise<void> {
  const messageId = randomUUID();
  let pending = '';
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    send(viewers, { type: 'message.delta', conversationId, messageId, delta: pending, offset });
    offset += pending.length;
    pending = '';
  };
  await readChatCompletionDeltas(providerUrl, content, (text) => {
    pending += text;
    timer ??= setTimeout(flush, coalesceMs);
  });
  clearTimeout(timer);
  flush();
  send(viewers, { type: 'message.done', message: { id: messageId, conversationId, content: '', status: 'complete' } });
}

const http = createServer((request, response) => {
  if (!serveLoopDelay(request, response)) response.writeHead(404).end();
});
const server = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 1 << 20 });

server.on('connection', (ws, request) => {
  const token = request.headers.authorization ?? '';
  let group = groups.get(token);
  if (!group) groups.set(token, (group = new Set()));
  group.add(ws);
  const viewers = group;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const frame = JSON.parse(data.toString()) as { type?: string; id?: string; conversationId?: string; content?: string };
    if (frame.type !== 'send') return;
    send([ws], { type: 'ack', id: frame.id });
    relay(viewers, frame.conversationId ?? '', frame.content ?? '').catch((error: unknown) => {
      send([ws], { type: 'error', code: 'internal', message: String(error) });
    });
  });
  ws.on('close', () => viewers.delete(ws));
});

http.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = http.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
