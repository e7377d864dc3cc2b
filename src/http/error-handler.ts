import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, toAppError, type ErrorCode } from '../errors/app-error.ts';

/** Fastify's own error codes mapped onto the public error codes. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'invalid_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

const statusCodes: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'invalid_request',
  429: 'rate_limited',
};

/**
 * Turns every error into SPEC §4's `{ error: { code, message, details? } }`: AppError as it is,
 * schema failures as invalid_request with the issues, Fastify's parser errors by code, and anything
 * else as `unavailable` (a dependency unreachable) or `internal` (logged with its cause; never blamed on the client).
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toHttpError(error);
    if (appError.code === 'internal') request.log.error({ err: error }, 'request failed');
    if (appError.code === 'unavailable') request.log.warn({ err: error }, 'request failed: a dependency is unreachable');
    if (appError.retryAfterMs !== undefined) reply.header('retry-after', Math.max(1, Math.ceil(appError.retryAfterMs / 1000)));
    return reply.status(appError.status).send(appError.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new AppError('not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`).toBody()),
  );
}

function toHttpError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const details = error.validation.map((issue) => ({
      path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || error.validationContext,
      message: issue.message,
    }));
    return new AppError(
      'invalid_request',
      `Invalid ${error.validationContext ?? 'request'}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      { details },
    );
  }
  const byCode = error.code ? fastifyCodes[error.code] : undefined;
  if (byCode) return new AppError(byCode, error.message, { cause: error });
  const status = error.statusCode ?? 500;
  if (status < 500 && statusCodes[status]) return new AppError(statusCodes[status], error.message, { cause: error });
  return toAppError(error);
}
