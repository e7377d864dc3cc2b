import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { searchKnowledge } from '../../src/knowledge/search-knowledge.ts';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { createKnowledgeBase, documentSettled, uploadDocument } from './support.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const modes = testDatabases().map((database) => ({ database, distributed: false }));
const postgres = testDatabases().find((database) => database.name === 'postgres');
if (postgres && redisUrl) modes.push({ database: postgres, distributed: true });

for (const { database, distributed } of modes) {
  describe(`document URLs, retries and jobs on ${database.name}${distributed ? ' + Redis (BullMQ)' : ''}`, () => {
    let server: TestServer;
    let origin: Server;
    let originUrl: string;
    let hits: string[];
    let alice: Session;
    let bob: Session;
    let client: TestClient;
    let baseId: string;
    const prefix = `chorus-test-${randomBytes(6).toString('hex')}`;

    before(async () => {
      hits = [];
      origin = createServer((request, response) => {
        hits.push(request.url ?? '');
        if (request.url === '/handbook.html') {
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          response.end('<h1>Remote work</h1><p>Work from anywhere two days a week.</p>');
        } else if (request.url === '/missing') {
          response.writeHead(404).end();
        } else {
          response.writeHead(503).end('down');
        }
      });
      await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
      originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
      server = await startTestServer({
        databaseUrl: await database.createUrl(),
        env: {
          CHORUS_OUTBOUND_ALLOW_HOSTS: new URL(originUrl).host,
          CHORUS_JOB_RETRY_BASE_DELAY_MS: '25',
          ...(distributed ? { REDIS_URL: redisUrl!, CHORUS_JWT_SECRET: 'x'.repeat(32), CHORUS_JOB_QUEUE_PREFIX: prefix } : {}),
        },
      });
      alice = await server.register('acme', 'alice');
      bob = await server.join(alice, 'bob');
      client = await TestClient.connect(server, alice.accessToken);
      baseId = await createKnowledgeBase(server, alice, 'Remote');
    });
    after(async () => {
      await client.close();
      await server.close();
      origin.close();
      if (distributed) {
        const redis = new Redis(redisUrl!);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
    });

    const addUrl = async (url: string) => {
      const response = await server.request('POST', `/api/v1/knowledge-bases/${baseId}/documents`, {
        token: alice.accessToken,
        body: { url },
      });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body;
    };

    it('fetches a URL document from an allow-listed host and stores it', async () => {
      const created = await addUrl(`${originUrl}/handbook.html`);
      assert.equal(created.sourceUrl, `${originUrl}/handbook.html`);
      const { document } = await documentSettled(client, created.id);
      assert.equal(document.status, 'ready', document.error);
      assert.equal(document.contentType, 'text/html');
      const found = await server.request('POST', `/api/v1/knowledge-bases/${baseId}/search`, {
        token: alice.accessToken,
        body: { query: 'work from anywhere' },
      });
      assert.equal(found.body.items[0]?.documentId, created.id);
    });

    it('fails a document at once on a client error (HTTP 404), without retrying', async () => {
      const before = hits.length;
      const created = await addUrl(`${originUrl}/missing`);
      const { document } = await documentSettled(client, created.id);
      assert.equal(document.status, 'failed');
      assert.match(document.error, /HTTP 404/);
      assert.equal(hits.length - before, 1);
    });

    it('retries a failing ingestion with backoff, then dead-letters it; admins see it in GET /jobs', async () => {
      const before = hits.filter((hit) => hit === '/flaky').length;
      const created = await addUrl(`${originUrl}/flaky`);
      const { document } = await documentSettled(client, created.id);
      assert.equal(document.status, 'failed');
      assert.match(document.error, /HTTP 503/);
      assert.equal(hits.filter((hit) => hit === '/flaky').length - before, 3, 'three attempts');
      const retrying = client.frames.find(
        (frame) =>
          frame.type === 'document.status' &&
          frame.document.id === created.id &&
          /Attempt 1 of 3 failed/.test(frame.document.error ?? ''),
      );
      assert.ok(retrying, 'the uploader saw the retry');

      const jobs = await server.request('GET', '/api/v1/jobs?state=failed', { token: alice.accessToken });
      assert.equal(jobs.status, 200);
      const dead = jobs.body.items.find((job: { error: string }) => /flaky/.test(job.error ?? ''));
      assert.ok(dead, JSON.stringify(jobs.body));
      assert.equal(dead.kind, 'knowledge.ingest');
      assert.equal(dead.state, 'failed');
      assert.equal(dead.attempts, 3);
      assert.equal(dead.maxAttempts, 3);
      const forbidden = await server.request('GET', '/api/v1/jobs', { token: bob.accessToken });
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, 'forbidden');
    });
  });
}

for (const database of testDatabases()) {
  describe(`knowledge workspace isolation on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session; // acme
    let mallory: Session; // globex
    let acmeBase: string;
    let globexBase: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      mallory = await server.register('globex', 'mallory');
      acmeBase = await createKnowledgeBase(server, alice, 'Secrets');
      globexBase = await createKnowledgeBase(server, mallory, 'Secrets');
      const client = await TestClient.connect(server, alice.accessToken);
      const created = await uploadDocument(server, alice, acmeBase, {
        bytes: 'The launch code is tangerine.',
        name: 'codes.txt',
        type: 'text/plain',
      });
      await documentSettled(client, created.body.id);
      await client.close();
    });
    after(() => server.close());

    it("never shows another workspace's knowledge base, documents or chunks", async () => {
      const token = mallory.accessToken;
      assert.equal((await server.request('GET', `/api/v1/knowledge-bases/${acmeBase}`, { token })).status, 404);
      assert.equal((await server.request('GET', `/api/v1/knowledge-bases/${acmeBase}/documents`, { token })).status, 404);
      const searched = await server.request('POST', `/api/v1/knowledge-bases/${acmeBase}/search`, {
        token,
        body: { query: 'launch code' },
      });
      assert.equal(searched.status, 404);
      const upload = await uploadDocument(server, mallory, acmeBase, { bytes: 'x', name: 'x.txt', type: 'text/plain' });
      assert.equal(upload.status, 404);
      assert.equal((await server.request('DELETE', `/api/v1/knowledge-bases/${acmeBase}`, { token })).status, 404);
      const list = await server.request('GET', '/api/v1/knowledge-bases', { token });
      assert.deepEqual(
        list.body.items.map((base: { id: string }) => base.id),
        [globexBase],
      );
      // Retrieval itself scopes by workspace, whatever ids it is given.
      const chunks = await searchKnowledge(server.context.knowledge!.search, {
        workspaceId: mallory.workspace.id,
        knowledgeBaseIds: [acmeBase, globexBase],
        query: 'launch code tangerine',
        limit: 5,
      });
      assert.deepEqual(chunks, []);
      const own = await searchKnowledge(server.context.knowledge!.search, {
        workspaceId: alice.workspace.id,
        knowledgeBaseIds: [acmeBase],
        query: 'launch code tangerine',
        limit: 5,
      });
      assert.equal(own.length, 1);
    });

    it("refuses an agent listing another workspace's knowledge base", async () => {
      const created = await server.request('POST', '/api/v1/agents', {
        token: mallory.accessToken,
        body: { handle: 'spy', knowledgeBaseIds: [acmeBase] },
      });
      assert.equal(created.status, 400);
      assert.equal(created.body.error.code, 'invalid_request');
      assert.match(created.body.error.message, /does not exist in this workspace/);
      const ok = await server.request('POST', '/api/v1/agents', {
        token: mallory.accessToken,
        body: { handle: 'helper', knowledgeBaseIds: [globexBase] },
      });
      assert.equal(ok.status, 201);
      assert.deepEqual(ok.body.knowledgeBaseIds, [globexBase]);
      const patched = await server.request('PATCH', `/api/v1/agents/${ok.body.id}`, {
        token: mallory.accessToken,
        body: { knowledgeBaseIds: [globexBase, acmeBase] },
      });
      assert.equal(patched.status, 400);
    });
  });
}
