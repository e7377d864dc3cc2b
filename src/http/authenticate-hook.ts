import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../auth/auth-service.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppContext } from './context.ts';

/** Extracts the bearer credential from an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/**
 * An onRequest hook for protected routes: resolves `Authorization: Bearer <jwt|api key>` into
 * `request.principal`, then spends one unit of the user's rate limit. Throws unauthorized, rate_limited.
 */
export function authenticateHook(context: AppContext) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new AppError('unauthorized', 'Missing bearer token');
    request.principal = await authenticate(context, token);
    await context.rateLimits.consume(`user:${request.principal.userId}`);
  };
}
