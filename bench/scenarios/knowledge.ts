import pg from 'pg';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import {
  api,
  registerUsers,
  runPool,
  startChorus,
  startChorusOnPostgres,
  type BenchUser,
  type ChorusServer,
} from '../lib/chorus.ts';

/** Shape of the knowledge scenario (issue 15). */
export interface KnowledgeOptions {
  /** PDFs uploaded for the ingestion measurement, `pagesPerPdf` pages each. */
  pdfs: number;
  pagesPerPdf: number;
  /** Chunks in the knowledge base when search is measured (filled with one-chunk Markdown sections). */
  chunks: number;
  queries: number;
}

/** Latency percentiles in ms. */
interface Latency {
  p50Ms: number;
  p99Ms: number;
}

/** Ingestion throughput, then search latency through the API against the same full-text query as raw SQL (the floor). */
export interface KnowledgeResult {
  database: 'pglite' | 'postgres';
  pagesIngested: number;
  pagesPerSecond: number;
  chunks: number;
  search: Latency;
  /** The same ranking statement run directly against PostgreSQL; null on PGlite (inside the server process). */
  rawSql: Latency | null;
}

const vocabulary =
  'invoice refund shipping parcel warranty laptop badge security password rotate vacation expense meal travel train flight budget report deploy server backup restore database index query latency ticket escalate contract renewal pricing discount onboarding buddy garage bicycle courtyard policy audit compliance'.split(
    ' ',
  );

/** Deterministic pseudo-random words (xorshift), so every run ingests and queries the same text. */
function words(seed: number, count: number): string {
  let state = seed * 2654435761 || 1;
  const out: string[] = [];
  for (let index = 0; index < count; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out.push(vocabulary[(state >>> 0) % vocabulary.length]!);
  }
  return out.join(' ');
}

async function makePdf(seed: number, pages: number): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (let page = 0; page < pages; page++) {
    const sheet = pdf.addPage([595, 842]);
    for (let line = 0; line < 12; line++)
      sheet.drawText(words(seed * 1000 + page * 20 + line, 10), { x: 40, y: 800 - line * 18, size: 10, font });
  }
  return Buffer.from(await pdf.save());
}

async function upload(
  server: ChorusServer,
  user: BenchUser,
  baseId: string,
  bytes: Buffer,
  name: string,
  type: string,
): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  const response = await fetch(`${server.baseUrl}/api/v1/knowledge-bases/${baseId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}` },
    body: form,
  });
  if (response.status !== 201) throw new Error(`upload ${name} → ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** Polls the document list until none is queued or processing; throws on a failed one. */
async function waitForIngestion(server: ChorusServer, user: BenchUser, baseId: string): Promise<number> {
  for (;;) {
    const { items } = await api<{ items: Array<{ status: string; chunkCount: number; error: string | null }> }>(
      server.baseUrl,
      'GET',
      `/knowledge-bases/${baseId}/documents`,
      user.token,
    );
    const failed = items.find((item) => item.status === 'failed');
    if (failed) throw new Error(`ingestion failed: ${failed.error}`);
    if (items.every((item) => item.status === 'ready')) return items.reduce((sum, item) => sum + item.chunkCount, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function percentiles(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** The full-text ranking and chunk read of `searchKnowledge`, as one statement. */
const rawSearchSql = `
  with q as (select nullif(replace(plainto_tsquery('english', $1)::text, ' & ', ' | '), '')::tsquery as query),
  ranked as (
    select c.id from knowledge_chunks c cross join q
    where c.workspace_id = $2 and c.knowledge_base_id = any($3::uuid[]) and c.search_tsv @@ q.query
    order by ts_rank(c.search_tsv, q.query, 1) desc, c.id limit 40)
  select c.id, c.document_id, d.title, c.position, c.text
  from ranked r join knowledge_chunks c on c.id = r.id join knowledge_documents d on d.id = c.document_id`;

/**
 * Ingestion throughput (PDF pages/s, upload to `ready`, through the job queue) and search latency
 * (`POST /knowledge-bases/:id/search`, limit 10, sequential) at `options.chunks` chunks, against
 * the same full-text statement run directly on PostgreSQL (the floor; BENCH_DATABASE_URL), on
 * PGlite otherwise (floor not measurable from outside the server process).
 */
export async function runKnowledge(options: KnowledgeOptions): Promise<KnowledgeResult> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  const server = adminUrl ? await startChorusOnPostgres(0, adminUrl) : await startChorus(0);
  try {
    const [user] = await registerUsers(server.baseUrl, 1);
    const base = await api<{ id: string; workspaceId: string }>(server.baseUrl, 'POST', '/knowledge-bases', user!.token, {
      name: 'bench',
    });
    const pdfs = await Promise.all(Array.from({ length: options.pdfs }, (_, index) => makePdf(index + 1, options.pagesPerPdf)));
    const started = performance.now();
    await runPool([...pdfs.keys()], 4, async (index) => {
      await upload(server, user!, base.id, pdfs[index]!, `doc-${index}.pdf`, 'application/pdf');
    });
    let chunks = await waitForIngestion(server, user!, base.id);
    const pagesPerSecond = (options.pdfs * options.pagesPerPdf) / ((performance.now() - started) / 1000);

    const sectionsPerDoc = 100;
    const fillers = Math.max(0, Math.ceil((options.chunks - chunks) / sectionsPerDoc));
    await runPool([...Array(fillers).keys()], 4, async (index) => {
      const markdown = Array.from(
        { length: sectionsPerDoc },
        (_, section) => `## Section ${section}\n\n${words(index * 1000 + section + 7, 90)}`,
      ).join('\n\n');
      await upload(server, user!, base.id, Buffer.from(markdown), `fill-${index}.md`, 'text/markdown');
    });
    chunks = await waitForIngestion(server, user!, base.id);

    const queries = Array.from({ length: options.queries }, (_, index) => words(index + 99_991, 3));
    const apiSamples: number[] = [];
    for (const query of queries) {
      const sent = performance.now();
      await api(server.baseUrl, 'POST', `/knowledge-bases/${base.id}/search`, user!.token, { query, limit: 10 });
      apiSamples.push(performance.now() - sent);
    }
    let rawSql: Latency | null = null;
    if (server.databaseUrl) {
      const client = new pg.Client({ connectionString: server.databaseUrl });
      await client.connect();
      try {
        const samples: number[] = [];
        for (const query of queries) {
          const sent = performance.now();
          await client.query({
            name: 'bench_knowledge_search',
            text: rawSearchSql,
            values: [query, base.workspaceId, [base.id]],
          });
          samples.push(performance.now() - sent);
        }
        rawSql = percentiles(samples);
      } finally {
        await client.end();
      }
    }
    return {
      database: server.databaseUrl ? 'postgres' : 'pglite',
      pagesIngested: options.pdfs * options.pagesPerPdf,
      pagesPerSecond,
      chunks,
      search: percentiles(apiSamples),
      rawSql,
    };
  } finally {
    await server.stop();
  }
}
