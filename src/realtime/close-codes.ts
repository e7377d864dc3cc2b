import { errorTable } from '../errors/app-error.ts';

/**
 * Every WebSocket close code Chorus sends, with what a client should do (docs/protocol.md lists
 * the same table). Codes that stand for an error code reuse `errorTable`'s close code, so HTTP,
 * WebSocket and SSE cannot drift apart. `reconnect` tells the client what to do: `sync` reconnect
 * with backoff and sync from the last seq seen, `new-token` refresh the token first, `no` stay
 * closed. A socket that misses a heartbeat pong is dropped without a close frame (clients see
 * 1006): reconnect and sync.
 */
export const closeCodes = {
  /** The server is shutting down or restarting: reconnect with backoff, then sync. */
  goingAway: { code: 1001, reason: 'server shutting down', reconnect: 'sync' },
  /** A frame exceeded the 1 MiB limit: the frame is dropped; reconnect and sync, and do not resend it. */
  tooLarge: { code: errorTable.payload_too_large.closeCode, reason: 'frame too large', reconnect: 'sync' },
  /** Server fault: reconnect with backoff, then sync. */
  internal: { code: errorTable.internal.closeCode, reason: 'internal error', reconnect: 'sync' },
  /** The outbound buffer overflowed (the client reads too slowly): reconnect, then sync from the last seq seen. */
  tooSlow: { code: 4008, reason: 'too slow, resync', reconnect: 'sync' },
  /** Bad, missing or expired credentials (also: no `auth` frame within 10 s): refresh the token, then reconnect. */
  unauthorized: { code: errorTable.unauthorized.closeCode, reason: 'unauthorized', reconnect: 'new-token' },
} as const satisfies Record<string, { code: number; reason: string; reconnect: 'no' | 'sync' | 'new-token' }>;

/** A key of `closeCodes`: why a connection is being closed. */
export type CloseReason = keyof typeof closeCodes;
