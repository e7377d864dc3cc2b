/**
 * An error answered by the server (`{ error: { code, message, details? } }`, SPEC §4) or raised by
 * the client itself: `network` (no answer), `closed` (the connection ended before the reply),
 * `timeout`. `status` is the HTTP status, 0 when there was none.
 */
export class ChorusError extends Error {
  override name = 'ChorusError';
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, options: { status?: number; details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 0;
    this.details = options.details;
  }

  /** True for failures a later attempt may not have: no network, timeouts, 429, 5xx. */
  get isRetryable(): boolean {
    return ['network', 'closed', 'timeout', 'rate_limited', 'internal', 'provider_error', 'unavailable'].includes(this.code);
  }

  static isInstance(value: unknown): value is ChorusError {
    return value instanceof ChorusError;
  }
}
