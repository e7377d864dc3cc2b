import type { FastifyReply } from 'fastify';
import type { BusEvent } from '../bus/event-bus.ts';

const keepAliveMs = 15_000;

/**
 * Writes bus events as Server-Sent Events (SPEC §5: `event:` = type, `data:` = the whole frame as JSON,
 * `id:` = seq on `message` events) until `events` ends or the client goes away; then calls `stop`.
 * Sends a comment line every 15 s so proxies keep the connection open.
 */
export async function writeSseStream(reply: FastifyReply, events: AsyncIterable<BusEvent>, stop: () => void): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(reply.request.id),
  });
  raw.flushHeaders();
  const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveMs);
  const onClose = () => stop();
  raw.on('close', onClose);
  try {
    for await (const event of events) {
      if (raw.destroyed) break;
      const message = event.message as { seq?: number } | undefined;
      const id = event.type === 'message' && message?.seq !== undefined ? `id: ${message.seq}\n` : '';
      raw.write(`event: ${event.type}\n${id}data: ${JSON.stringify(event)}\n\n`);
    }
  } finally {
    clearInterval(keepAlive);
    raw.off('close', onClose);
    stop();
    if (!raw.destroyed) raw.end();
  }
}
