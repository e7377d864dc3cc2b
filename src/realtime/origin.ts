/**
 * Whether a browser `Origin` may open a WebSocket (or SSE stream): no `Origin` header (a non-browser
 * client), the server's own origin (its host and port as the request's `Host` header names them),
 * or an entry of CHORUS_ALLOWED_ORIGINS (exact `scheme://host[:port]`, or `*` for any).
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && parsed.host === host.toLowerCase()) return true;
  return allowedOrigins.some((allowed) => allowed === '*' || allowed.replace(/\/+$/, '').toLowerCase() === parsed.origin);
}
