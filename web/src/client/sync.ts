import type { RealtimeClient } from './realtime-client.ts';

/**
 * Replays a conversation's messages after `afterSeq` over the WebSocket, page by page: the server
 * sends them as `message` frames (to the client's onEvent listeners, in seq order) before each
 * page's ack. Resolves with the last seq replayed (`afterSeq` when nothing was missing). Rejects
 * with ChorusError `closed`/`timeout` when the connection drops: sync again after the next open.
 */
export async function syncConversation(
  realtime: RealtimeClient,
  conversationId: string,
  afterSeq: number,
  pageSize = 200,
): Promise<number> {
  let position = afterSeq;
  for (;;) {
    const ack = await realtime.request({ type: 'sync', conversationId, afterSeq: position, limit: pageSize });
    const lastSeq = typeof ack.lastSeq === 'number' ? ack.lastSeq : position;
    const advanced = lastSeq > position;
    position = Math.max(position, lastSeq);
    if (ack.hasMore !== true || !advanced) return position;
  }
}

/** `wss://host/api/v1/ws` for an `https://host` origin, `ws://…` for `http://…`. */
export function realtimeUrl(origin: string): string {
  return `${origin.replace(/^http/, 'ws')}/api/v1/ws`;
}
