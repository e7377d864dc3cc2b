import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APICallError } from 'ai';
import { describeProviderError, isRetryableProviderError, retryDelayMs } from './model-errors.ts';

const apiError = (statusCode: number | undefined, headers: Record<string, string> = {}) =>
  new APICallError({
    message: 'boom',
    url: 'http://x',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    isRetryable: true,
  });

describe('provider errors', () => {
  it('retries 408, 429, 5xx and network failures only', () => {
    for (const status of [408, 429, 500, 503, 529]) assert.ok(isRetryableProviderError(apiError(status)), String(status));
    for (const status of [400, 401, 404, 422]) assert.ok(!isRetryableProviderError(apiError(status)), String(status));
    assert.ok(isRetryableProviderError(apiError(undefined)));
    assert.ok(!isRetryableProviderError(new Error('other')));
  });

  it('waits as the provider says: retry-after-ms, Retry-After seconds or date, else backoff', () => {
    assert.equal(retryDelayMs(apiError(429, { 'retry-after-ms': '250' }), 1, 1000), 250);
    assert.equal(retryDelayMs(apiError(429, { 'retry-after': '2' }), 1, 1000), 2000);
    const date = new Date(Date.now() + 3000).toUTCString();
    const fromDate = retryDelayMs(apiError(429, { 'retry-after': date }), 1, 1000);
    assert.ok(fromDate > 1000 && fromDate <= 3000, String(fromDate));
    const third = retryDelayMs(apiError(500), 3, 100);
    assert.ok(third >= 320 && third <= 480, `backoff 100 * 2^2 ± 20%: ${third}`);
  });

  it('describes failures in one readable line', () => {
    assert.equal(describeProviderError(apiError(503), 'openai'), 'The openai provider answered 503: boom');
    assert.match(describeProviderError(apiError(undefined), 'ollama'), /^Could not reach the ollama provider/);
  });
});
