import { Agent, buildConnector, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import { AppError } from '../errors/app-error.ts';
import { checkHostAddresses, parseOutboundUrl, resolveWithDns, type OutboundPolicy, type ResolveHost } from './url-policy.ts';

const maxRedirects = 5;

/**
 * `fetch` for user- and admin-supplied URLs (docs/decisions/0008-outbound-url-policy.md), with the
 * signature of the global fetch so it can be handed to SDK transports.
 *
 * Each new connection resolves its host once, checks every address against `policy` and connects
 * to the first of those checked addresses (an undici `Agent` whose connector does the lookup), so
 * a DNS answer that changes between check and connect (DNS rebinding) cannot reach a refused
 * address. TLS still verifies the certificate against the hostname. Redirects are followed here, at
 * most 5, each hop parsed and connected through the same check; headers are dropped on a redirect
 * to another origin. Throws the AppErrors of `parseOutboundUrl` and `checkHostAddresses`
 * (invalid_request, forbidden), invalid_request on too many redirects, and fetch's own errors.
 * Answers with undici's `Response` (the same API as the global one, another class).
 */
export function createGuardedFetch(policy: OutboundPolicy, resolve: ResolveHost = resolveWithDns): typeof fetch {
  const dispatcher = new Agent({ connect: pinnedConnector(policy, resolve) });
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let target = input instanceof Request ? input.url : String(input);
    let currentInit = (input instanceof Request ? { ...initOf(input), ...init } : init) as UndiciRequestInit | undefined;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      parseOutboundUrl(target);
      const response = await undiciFetch(target, { ...currentInit, redirect: 'manual', dispatcher }).catch(unwrapRefusal);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response as unknown as Response;
      await response.body?.cancel();
      const next = new URL(location, target);
      // Headers may carry secrets (MCP server API keys): never forward them to another origin.
      if (next.origin !== new URL(target).origin) currentInit = { ...currentInit, headers: undefined };
      if (response.status === 303) currentInit = { ...currentInit, method: 'GET', body: undefined };
      target = next.toString();
    }
    throw new AppError('invalid_request', 'Too many redirects');
  };
  return guarded as typeof fetch;
}

/** undici's connector, with the host resolved and checked first and the socket pinned to the checked address. */
function pinnedConnector(policy: OutboundPolicy, resolve: ResolveHost): buildConnector.connector {
  const connect = buildConnector({});
  return (options, callback) => {
    const port = options.port || (options.protocol === 'https:' ? '443' : '80');
    checkHostAddresses(options.hostname, port, policy, resolve).then(
      // `host` (the Host header) is kept, so TLS still sends and verifies the hostname.
      (addresses) => connect({ ...options, hostname: addresses[0]! }, callback),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/** undici reports a connector failure as `TypeError: fetch failed` with the cause: surface our refusal itself. */
function unwrapRefusal(error: unknown): never {
  if (error instanceof TypeError && error.cause instanceof AppError) throw error.cause;
  throw error;
}

/** The parts of a global `Request` undici's fetch needs (it does not accept another realm's Request). */
function initOf(request: Request): UndiciRequestInit {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  return {
    method: request.method,
    headers,
    ...(request.body ? { body: request.body as unknown as UndiciRequestInit['body'], duplex: 'half' as const } : {}),
    signal: request.signal,
  };
}
