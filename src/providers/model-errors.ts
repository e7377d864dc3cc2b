import { APICallError } from '@ai-sdk/provider';

/** Why an attempt stopped early; set as the abort reason of the attempt's signal. */
export class ModelTimeoutError extends Error {
  override name = 'ModelTimeoutError';
  readonly kind: 'first-token' | 'idle';
  constructor(kind: 'first-token' | 'idle', timeoutMs: number) {
    super(
      kind === 'first-token'
        ? `The model did not start answering within ${timeoutMs} ms`
        : `The model stopped sending for ${timeoutMs} ms`,
    );
    this.kind = kind;
  }
}

/** The provider sent a stream event Chorus could not parse. */
export class MalformedStreamError extends Error {
  override name = 'MalformedStreamError';
}

/** True for errors worth another attempt before the first token: 429, 5xx, 408 and network failures. */
export function isRetryableProviderError(error: unknown): boolean {
  if (!APICallError.isInstance(error)) return false;
  const status = error.statusCode;
  if (status === undefined) return error.isRetryable;
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The delay before the next attempt in ms: the provider's `retry-after-ms` / `Retry-After`
 * (seconds or HTTP date) when present, else exponential backoff `baseDelayMs * 2^(attempt-1)`
 * with ±20% jitter. `attempt` counts failed attempts so far (1 = first failure).
 */
export function retryDelayMs(error: unknown, attempt: number, baseDelayMs: number): number {
  const headers = APICallError.isInstance(error) ? error.responseHeaders : undefined;
  const retryAfterMs = headers?.['retry-after-ms'];
  if (retryAfterMs && Number.isFinite(Number(retryAfterMs))) return Math.max(0, Number(retryAfterMs));
  const retryAfter = headers?.['retry-after'];
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  const backoff = baseDelayMs * 2 ** (attempt - 1);
  return Math.round(backoff * (0.8 + Math.random() * 0.4));
}

/** A one-line, user-readable description of a provider failure (shown as the message's `error`). */
export function describeProviderError(error: unknown, provider: string): string {
  if (error instanceof ModelTimeoutError || error instanceof MalformedStreamError) return error.message;
  if (APICallError.isInstance(error)) {
    if (error.statusCode === undefined) return `Could not reach the ${provider} provider: ${error.message}`;
    return `The ${provider} provider answered ${error.statusCode}: ${error.message}`;
  }
  const message =
    (error as { message?: unknown } | null)?.message ?? (error as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof message === 'string' && message) return `The ${provider} provider failed: ${message}`;
  return `The ${provider} provider failed`;
}
