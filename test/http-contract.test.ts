import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type Session, type TestServer } from './support/server.ts';

describe('HTTP contract: validation, errors and operations', () => {
  let server: TestServer;
  let alice: Session;
  let conversationId: string;
  const logLines: string[] = [];

  before(async () => {
    const { pino } = await import('pino');
    const { redactPaths } = await import('../src/observability/logger.ts');
    const logger = pino(
      { level: 'info', redact: { paths: redactPaths, censor: '[redacted]' } },
      { write: (line: string) => logLines.push(line) },
    );
    server = await startTestServer({ logger });
    alice = await server.register('acme', 'alice');
    conversationId = (
      await server.request('POST', '/api/v1/conversations', { token: alice.accessToken, body: { kind: 'group' } })
    ).body.id;
  });
  after(() => server.close());

  const expectError = (response: { status: number; body: any }, status: number, code: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.equal(response.body.error.code, code);
    assert.equal(typeof response.body.error.message, 'string');
  };

  it('answers malformed JSON with 400 invalid_request', async () => {
    expectError(await server.request('POST', '/api/v1/auth/login', { rawBody: '{"workspace":' }), 400, 'invalid_request');
    expectError(
      await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        rawBody: '[1,',
      }),
      400,
      'invalid_request',
    );
  });

  it('names missing fields and wrong types in details', async () => {
    const missing = await server.request('POST', '/api/v1/auth/register', { body: { workspace: 'x1' } });
    expectError(missing, 400, 'invalid_request');
    const paths = missing.body.error.details.map((detail: { path: string }) => detail.path);
    assert.ok(paths.includes('handle') && paths.includes('password'), JSON.stringify(paths));
    expectError(
      await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: 42 },
      }),
      400,
      'invalid_request',
    );
    expectError(
      await server.request('POST', '/api/v1/conversations', { token: alice.accessToken, body: { kind: 'circle' } }),
      400,
      'invalid_request',
    );
    expectError(
      await server.request('GET', '/api/v1/conversations/not-a-uuid', { token: alice.accessToken }),
      400,
      'invalid_request',
    );
    expectError(
      await server.request('GET', `/api/v1/conversations/${conversationId}/messages?limit=100000`, { token: alice.accessToken }),
      400,
      'invalid_request',
    );
    expectError(
      await server.request('POST', `/api/v1/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { content: '' },
      }),
      400,
      'invalid_request',
    );
  });

  it('answers oversize bodies with 413 and unknown routes with 404', async () => {
    expectError(
      await server.request('POST', '/api/v1/auth/login', { rawBody: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) }),
      413,
      'payload_too_large',
    );
    expectError(await server.request('GET', '/api/v1/nothing-here', { token: alice.accessToken }), 404, 'not_found');
    expectError(await server.request('GET', '/nothing-here'), 404, 'not_found');
    expectError(
      await server.request('GET', '/api/v1/conversations/%E0%A4%A', { token: alice.accessToken }),
      400,
      'invalid_request',
    );
  });

  it('reports liveness, readiness and Prometheus metrics', async () => {
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    const ready = await server.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.database, 'pglite');
    const metrics = await server.request('GET', '/metrics');
    assert.match(metrics.body, /chorus_http_requests_total\{method="GET",route="\/healthz",status="200"\}/);
    assert.match(metrics.body, /chorus_http_request_duration_seconds_bucket/);
  });

  it('serves OpenAPI generated from the request schemas, and its docs page', async () => {
    const spec = await server.request('GET', '/openapi.json');
    assert.equal(spec.status, 200);
    assert.match(spec.body.openapi, /^3\./);
    const register = spec.body.paths['/api/v1/auth/register'].post;
    assert.ok(register.requestBody.content['application/json'].schema.properties.handle);
    assert.ok(spec.body.paths['/api/v1/conversations/{id}/messages'].post);
    const docs = await fetch(`${server.url}/docs/`);
    assert.equal(docs.status, 200);
  });

  it('tags responses with a request id and never logs credentials', async () => {
    const response = await server.request('POST', '/api/v1/auth/login', {
      body: { workspace: 'acme', handle: 'alice', password: 'correct horse battery' },
      headers: { 'x-request-id': 'trace-123' },
    });
    assert.equal(response.headers.get('x-request-id'), 'trace-123');
    await server.request('GET', '/api/v1/me', { token: response.body.accessToken });
    const all = logLines.join('\n');
    assert.ok(all.includes('trace-123'), 'request id is logged');
    assert.ok(!all.includes('correct horse battery'));
    assert.ok(!all.includes(response.body.accessToken));
    assert.ok(!all.includes(response.body.refreshToken));
  });
});

describe('rate limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { CHORUS_RATE_LIMIT_PER_SECOND: '3' } });
  });
  after(() => server.close());

  it('answers 429 rate_limited with Retry-After once a user exceeds the sustained rate and burst', async () => {
    const alice = await server.register('acme', 'alice');
    const responses = [];
    for (let index = 0; index < 30; index++)
      responses.push(await server.request('GET', '/api/v1/me', { token: alice.accessToken }));
    const limited = responses.filter((response) => response.status === 429);
    assert.ok(limited.length > 0, 'some requests are limited');
    assert.ok(responses[0].status === 200, 'the first ones pass');
    assert.equal(limited[0].body.error.code, 'rate_limited');
    assert.ok(Number(limited[0].headers.get('retry-after')) >= 1);
  });

  it('is stricter on sign-in attempts', async () => {
    await server.close();
    server = await startTestServer({ env: { CHORUS_RATE_LIMIT_PER_SECOND: '3' } });
    await server.register('acme', 'alice');
    const statuses = [];
    for (let index = 0; index < 8; index++) {
      const response = await server.request('POST', '/api/v1/auth/login', {
        body: { workspace: 'acme', handle: 'alice', password: 'wrong password' },
      });
      statuses.push(response.status);
    }
    assert.ok(statuses.includes(401));
    assert.ok(statuses.includes(429), statuses.join(','));
  });
});
