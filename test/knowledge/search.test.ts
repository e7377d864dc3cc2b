import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startFakeOpenAI, type FakeProvider } from '../support/fake-providers.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { searchKnowledge } from '../../src/knowledge/search-knowledge.ts';
import { createKnowledgeBase, documentSettled, uploadDocument } from './support.ts';

/** A small corpus where the right answer to each query is known. */
const corpus = [
  {
    name: 'vacation.md',
    text: '# Vacation\n\nEmployees get 25 vacation days per year. Unused vacation days carry over until March.',
  },
  {
    name: 'expenses.md',
    text: '# Expenses\n\nSubmit expense reports within 30 days with receipts attached. Meals are reimbursed up to 40 euros.',
  },
  {
    name: 'security.md',
    text: '# Security\n\nRotate API keys every ninety days. Report a lost laptop to the security team at once.',
  },
  { name: 'onboarding.md', text: '# Onboarding\n\nNew hires receive a laptop on their first day and meet their buddy.' },
  { name: 'parking.md', text: '# Parking\n\nThe garage opens at seven. Bicycles park in the courtyard.' },
];

const queries: Array<[string, string]> = [
  ['How many vacation days do I get?', 'vacation.md'],
  ['when must expense reports be submitted', 'expenses.md'],
  ['I lost my laptop, what do I do?', 'security.md'],
  ['where do bicycles park', 'parking.md'],
];

async function loadCorpus(server: TestServer, session: Session, baseId: string): Promise<void> {
  const client = await TestClient.connect(server, session.accessToken);
  try {
    for (const file of corpus) {
      const created = await uploadDocument(server, session, baseId, { bytes: file.text, name: file.name, type: 'text/markdown' });
      assert.equal(created.status, 201);
      assert.equal((await documentSettled(client, created.body.id)).document.status, 'ready');
    }
  } finally {
    await client.close();
  }
}

const search = (server: TestServer, session: Session, baseId: string, query: string, limit = 3) =>
  server.request('POST', `/api/v1/knowledge-bases/${baseId}/search`, { token: session.accessToken, body: { query, limit } });

for (const database of testDatabases()) {
  describe(`knowledge search (full-text) on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let baseId: string;

    before(async () => {
      server = await startTestServer({ databaseUrl: await database.createUrl() });
      alice = await server.register('acme', 'alice');
      baseId = await createKnowledgeBase(server, alice, 'Policies');
      await loadCorpus(server, alice, baseId);
    });
    after(() => server.close());

    it('ranks the chunk that answers each query first, with document, position and score', async () => {
      for (const [query, expected] of queries) {
        const response = await search(server, alice, baseId, query);
        assert.equal(response.status, 200);
        const [top] = response.body.items;
        assert.equal(top?.documentTitle, expected, query);
        assert.equal(top.knowledgeBaseId, baseId);
        assert.equal(top.position, 0);
        assert.ok(top.score > 0);
        assert.ok(typeof top.chunkId === 'string' && typeof top.documentId === 'string');
        const scores = response.body.items.map((item: { score: number }) => item.score);
        assert.deepEqual(
          scores,
          [...scores].sort((a, b) => b - a),
          'best first',
        );
      }
    });

    it('answers no items for a query matching nothing, and refuses bad input', async () => {
      assert.deepEqual((await search(server, alice, baseId, 'zeppelin')).body.items, []);
      assert.equal((await search(server, alice, baseId, '')).status, 400);
      const unknown = await search(server, alice, '01900000-0000-7000-8000-000000000000', 'vacation');
      assert.equal(unknown.status, 404);
    });
  });
}

for (const database of testDatabases()) {
  describe(`knowledge search with embeddings on ${database.name} (fused by RRF)`, () => {
    let server: TestServer;
    let provider: FakeProvider;
    let alice: Session;
    let baseId: string;

    before(async () => {
      provider = await startFakeOpenAI();
      server = await startTestServer({
        databaseUrl: await database.createUrl(),
        env: {
          OPENAI_API_KEY: 'test-key',
          OPENAI_BASE_URL: provider.url,
          CHORUS_EMBEDDING_MODEL: 'openai/text-embedding-3-small',
        },
      });
      alice = await server.register('acme', 'alice');
      baseId = await createKnowledgeBase(server, alice, 'Policies');
      await loadCorpus(server, alice, baseId);
    });
    after(async () => {
      await server.close();
      await provider.close();
    });

    it('embeds every chunk through the provider at ingestion', async () => {
      const rows = await query<{ n: number }>(
        server,
        `select count(*)::int as n from knowledge_chunk_embeddings where knowledge_base_id = '${baseId}'`,
      );
      assert.equal(rows[0]!.n, corpus.length);
      assert.ok(provider.embeddingRequests.length >= corpus.length);
      assert.equal(provider.embeddingRequests[0]!.body.model, 'text-embedding-3-small');
    });

    it('ranks with pgvector where the database has it: always on PGlite, on PostgreSQL when installed', async () => {
      const available = await query(server, `select 1 from pg_available_extensions where name = 'vector'`);
      const installed = await query(server, `select extversion from pg_extension where extname = 'vector'`);
      const search = server.context.knowledge!.search;
      if (database.name === 'pglite') assert.equal(available.length, 1, 'PGlite loads @electric-sql/pglite-pgvector');
      assert.equal(search.pgvector, available.length === 1);
      assert.equal(installed.length, available.length);
    });

    it('ranks the chunk that answers each query first, scoring both rankings', async () => {
      for (const [text, expected] of queries) {
        const response = await search(server, alice, baseId, text);
        assert.equal(response.status, 200);
        const [top] = response.body.items;
        assert.equal(top?.documentTitle, expected, text);
        // Found by both rankings: more than one RRF term of at most 1/61.
        assert.ok(top.score > 1 / 61, `${text}: ${top.score}`);
      }
    });

    it('finds by embedding alone a chunk that full-text search cannot (stop words only)', async () => {
      // "their" is an English stop word, so the full-text query is empty; the fake embedding counts it.
      const response = await search(server, alice, baseId, 'their', 5);
      assert.equal(response.body.items[0]?.documentTitle, 'onboarding.md');
      assert.ok(Math.abs(response.body.items[0].score - 1 / 61) < 1e-9, 'one ranking, first place');
    });

    it("ranks pgvector's <=> exactly as the plain-SQL cosine, every chunk of the corpus", async (t) => {
      const deps = server.context.knowledge!.search;
      if (!deps.pgvector) return t.skip('no pgvector on this database');
      const workspaceId = alice.user.workspaceId;
      // Stop-word queries are ranked by the vectors alone; the others fuse both rankings.
      for (const text of [...queries.map(([q]) => q), 'their', 'at the', 'what do I do']) {
        const input = { workspaceId, knowledgeBaseIds: [baseId], query: text, limit: corpus.length };
        const withPgvector = await searchKnowledge(deps, input);
        const plain = await searchKnowledge({ ...deps, pgvector: false }, input);
        assert.deepEqual(
          withPgvector.map((item) => [item.chunkId, item.score]),
          plain.map((item) => [item.chunkId, item.score]),
          text,
        );
        assert.ok(withPgvector.length > 0, text);
      }
    });
  });
}

async function query<Row = Record<string, unknown>>(server: TestServer, text: string): Promise<Row[]> {
  return ((await server.context.db.execute(text as never)) as unknown as { rows: Row[] }).rows;
}
