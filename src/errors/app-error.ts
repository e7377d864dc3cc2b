/**
 * The closed set of error codes of the public contract (SPEC §4), with how each maps to HTTP,
 * to a WebSocket close code when the error ends a connection, and whether a client may retry.
 * HTTP, WebSocket and SSE all read this one table.
 */
export const errorTable = {
  invalid_request: { status: 400, closeCode: 4400, retryable: false },
  unauthorized: { status: 401, closeCode: 4401, retryable: false },
  forbidden: { status: 403, closeCode: 4403, retryable: false },
  not_found: { status: 404, closeCode: 4404, retryable: false },
  conflict: { status: 409, closeCode: 4409, retryable: false },
  payload_too_large: { status: 413, closeCode: 1009, retryable: false },
  rate_limited: { status: 429, closeCode: 4429, retryable: true },
  provider_error: { status: 502, closeCode: 4502, retryable: true },
  internal: { status: 500, closeCode: 1011, retryable: true },
  // Not in SPEC §4 (decision 0012): a dependency (PostgreSQL, Redis) is unreachable; retry.
  unavailable: { status: 503, closeCode: 1013, retryable: true },
} as const satisfies Record<string, { status: number; closeCode: number; retryable: boolean }>;

export type ErrorCode = keyof typeof errorTable;

/** The wire shape of an error: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * The one error type features throw. `code` is from `errorTable`; `details` goes to the client;
 * `cause` stays in the log. `retryAfterMs` is sent as `Retry-After` on 429.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }

  get status(): number {
    return errorTable[this.code].status;
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }

  static isInstance(value: unknown): value is AppError {
    return value instanceof AppError;
  }
}

/**
 * Any thrown value as an AppError: a lost or refused connection to a dependency (see
 * `isUnreachable`) becomes `unavailable` (503, retryable), other unknown errors `internal`,
 * keeping the cause for the log.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isUnreachable(error)) {
    return new AppError(
      'unavailable',
      'A service this server depends on is unreachable; try again shortly (resending the same clientMsgId never stores it twice)',
      {
        cause: error,
      },
    );
  }
  return new AppError('internal', 'Internal server error', { cause: error });
}

/** Socket errors of a connection that could not be made or was lost. */
const unreachableErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
]);
/** Messages node-postgres and ioredis throw when their connection is gone (they carry no code). */
const unreachableMessages =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|MaxRetriesPerRequestError|Reached the max retries per request/i;

/**
 * True when `error` (or an error in its `cause` chain) says a dependency could not be reached:
 * a socket errno (ECONNREFUSED, ECONNRESET, …), a PostgreSQL SQLSTATE of class 08 (connection
 * exception) or 57P01–57P03 (server shutting down, cannot connect now), or the drivers' own
 * "connection terminated / closed" errors.
 */
export function isUnreachable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    const { code, message, errors } = current as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === 'string' && (unreachableErrnos.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)))
      return true;
    if (typeof message === 'string' && unreachableMessages.test(message)) return true;
    // AggregateError (a refused connection to both ::1 and 127.0.0.1) keeps the socket errors in `errors`.
    if (Array.isArray(errors) && errors.some(isUnreachable)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
