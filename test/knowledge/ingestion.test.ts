import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../realtime/client.ts';
import { testDatabases } from '../support/databases.ts';
import { startTestServer, type Session, type TestServer } from '../support/server.ts';
import { createKnowledgeBase, documentSettled, makePdf, uploadDocument } from './support.ts';

const maxBytes = 100_000;

for (const database of testDatabases()) {
  describe(`knowledge ingestion on ${database.name}`, () => {
    let server: TestServer;
    let alice: Session;
    let client: TestClient;
    let baseId: string;

    before(async () => {
      server = await startTestServer({
        databaseUrl: await database.createUrl(),
        env: { CHORUS_DOCUMENT_MAX_BYTES: String(maxBytes) },
      });
      alice = await server.register('acme', 'alice');
      client = await TestClient.connect(server, alice.accessToken);
      baseId = await createKnowledgeBase(server, alice, 'Handbook');
    });
    after(async () => {
      await client.close();
      await server.close();
    });

    const ingest = async (file: Parameters<typeof uploadDocument>[3]) => {
      const created = await uploadDocument(server, alice, baseId, file);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.status, 'queued');
      const settled = await documentSettled(client, created.body.id);
      assert.equal(settled.document.status, 'ready', settled.document.error);
      return settled.document;
    };
    const chunksOf = async (documentId: string) => {
      const result = await server.context.db.execute(
        `select position, heading, text from knowledge_chunks where document_id = '${documentId}' order by position` as never,
      );
      return (result as unknown as { rows: Array<{ position: number; heading: string; text: string }> }).rows;
    };

    it('ingests plain text, pushing its progress to the uploader', async () => {
      const document = await ingest({
        bytes: 'Our office opens at nine.\n\nLunch is served at noon.',
        name: 'office.txt',
        type: 'text/plain',
      });
      assert.equal(document.contentType, 'text/plain');
      assert.equal(document.title, 'office.txt');
      assert.equal(document.chunkCount, 1);
      assert.equal(document.progress, 1);
      const progress = client.frames.filter((frame) => frame.type === 'document.status' && frame.document.id === document.id);
      assert.ok(
        progress.some((frame) => frame.document.status === 'processing'),
        'processing was pushed before ready',
      );
      const [chunk] = await chunksOf(document.id);
      assert.match(chunk!.text, /office opens at nine/);
    });

    it('ingests Markdown into chunks by heading, long sections split with overlap', async () => {
      const long = Array.from({ length: 60 }, (_, index) => `Sentence number ${index} about deployment pipelines.`).join(' ');
      const markdown = `# Guide\n\nIntro text.\n\n## Setup\n\nInstall with npm.\n\n## Deploy\n\n${long}\n`;
      const document = await ingest({ bytes: markdown, name: 'guide.md', type: 'text/markdown', title: 'Engineering guide' });
      assert.equal(document.contentType, 'text/markdown');
      assert.equal(document.title, 'Engineering guide');
      const chunks = await chunksOf(document.id);
      assert.deepEqual(
        chunks.slice(0, 2).map((chunk) => chunk.heading),
        ['Guide', 'Guide › Setup'],
      );
      const deploy = chunks.filter((chunk) => chunk.heading === 'Guide › Deploy');
      assert.ok(deploy.length >= 2, 'the long section is split');
      for (const chunk of deploy) assert.ok(chunk.text.length <= 1_200 + 1);
      const tailOfFirst = deploy[0]!.text.slice(-40);
      assert.ok(deploy[1]!.text.includes(tailOfFirst.slice(tailOfFirst.indexOf(' ') + 1)), 'consecutive chunks overlap');
    });

    it('ingests HTML without its scripts and styles, headings kept', async () => {
      const html = `<html><head><title>Expenses</title><style>p{color:red}</style></head><body>
        <h1>Travel</h1><p>Book trains &amp; flights through the portal.</p><script>alert('x')</script>
        <h2>Meals</h2><p>Up to 40 euros a day.</p></body></html>`;
      const document = await ingest({ bytes: html, name: 'expenses.html', type: 'text/html' });
      assert.equal(document.contentType, 'text/html');
      const chunks = await chunksOf(document.id);
      assert.deepEqual(
        chunks.map((chunk) => chunk.heading),
        ['Travel', 'Travel › Meals'],
      );
      assert.match(chunks[0]!.text, /Book trains & flights/);
      const all = chunks.map((chunk) => chunk.text).join(' ');
      assert.doesNotMatch(all, /alert|color:red/);
    });

    it('ingests a PDF page by page', async () => {
      const pdf = await makePdf([['Security policy', 'Rotate keys every ninety days.'], ['Badges must be worn on site.']]);
      const document = await ingest({ bytes: pdf, name: 'policy.pdf', type: 'application/pdf' });
      assert.equal(document.contentType, 'application/pdf');
      assert.equal(document.pageCount, 2);
      const text = (await chunksOf(document.id)).map((chunk) => chunk.text).join(' ');
      assert.match(text, /Rotate keys every ninety days/);
      assert.match(text, /Badges must be worn/);
    });

    it('refuses an oversize upload, an unsupported type, an empty file and an unknown knowledge base', async () => {
      const oversize = await uploadDocument(server, alice, baseId, {
        bytes: 'x'.repeat(maxBytes + 1),
        name: 'big.txt',
        type: 'text/plain',
      });
      assert.equal(oversize.status, 413);
      assert.equal(oversize.body.error.code, 'payload_too_large');
      const png = Buffer.from(
        '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a7c5d1f30000000049454e44ae426082',
        'hex',
      );
      const image = await uploadDocument(server, alice, baseId, { bytes: png, name: 'a.png', type: 'image/png' });
      assert.equal(image.status, 400);
      assert.equal(image.body.error.code, 'invalid_request');
      assert.match(image.body.error.message, /text, Markdown, HTML or PDF.*image\/png/);
      const empty = await uploadDocument(server, alice, baseId, { bytes: '', name: 'empty.txt', type: 'text/plain' });
      assert.equal(empty.status, 400);
      const unknown = await uploadDocument(server, alice, '01900000-0000-7000-8000-000000000000', {
        bytes: 'hi',
        name: 'a.txt',
        type: 'text/plain',
      });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not_found');
      const noBody = await server.request('POST', `/api/v1/knowledge-bases/${baseId}/documents`, {
        token: alice.accessToken,
        body: { nope: 1 },
      });
      assert.equal(noBody.status, 400);
    });

    it('refuses a URL on a private or loopback address (SSRF)', async () => {
      for (const url of ['http://127.0.0.1:9/secret', 'http://10.1.2.3/', 'http://[::1]/']) {
        const response = await server.request('POST', `/api/v1/knowledge-bases/${baseId}/documents`, {
          token: alice.accessToken,
          body: { url },
        });
        assert.equal(response.status, 403, url);
        assert.equal(response.body.error.code, 'forbidden');
        assert.match(response.body.error.message, /loopback|private/);
      }
      const notHttp = await server.request('POST', `/api/v1/knowledge-bases/${baseId}/documents`, {
        token: alice.accessToken,
        body: { url: 'file:///etc/passwd' },
      });
      assert.equal(notHttp.status, 400);
    });

    it('lists, reads and deletes documents; knowledge base CRUD with a unique name', async () => {
      const listed = await server.request('GET', `/api/v1/knowledge-bases/${baseId}/documents`, { token: alice.accessToken });
      assert.equal(listed.status, 200);
      assert.ok(listed.body.items.length >= 4);
      const [first] = listed.body.items;
      const stored = path.join(server.dataDir, 'attachments', alice.workspace.id, first.id);
      assert.ok(existsSync(stored), 'the original is stored');
      const one = await server.request('GET', `/api/v1/knowledge-bases/${baseId}/documents/${first.id}`, {
        token: alice.accessToken,
      });
      assert.equal(one.body.id, first.id);
      const removed = await server.request('DELETE', `/api/v1/knowledge-bases/${baseId}/documents/${first.id}`, {
        token: alice.accessToken,
      });
      assert.equal(removed.status, 204);
      assert.deepEqual(await chunksOf(first.id), []);
      assert.ok(!existsSync(stored), 'the original is removed with it');
      const duplicate = await server.request('POST', '/api/v1/knowledge-bases', {
        token: alice.accessToken,
        body: { name: 'handbook' },
      });
      assert.equal(duplicate.status, 409);
      const renamed = await server.request('PATCH', `/api/v1/knowledge-bases/${baseId}`, {
        token: alice.accessToken,
        body: { description: 'How we work' },
      });
      assert.equal(renamed.body.description, 'How we work');
      const bases = await server.request('GET', '/api/v1/knowledge-bases', { token: alice.accessToken });
      assert.deepEqual(
        bases.body.items.map((base: { id: string }) => base.id),
        [baseId],
      );
    });
  });
}
