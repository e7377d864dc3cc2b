import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { Frame, TestClient } from '../realtime/client.ts';
import type { Session, TestServer } from '../support/server.ts';

/** A PDF with one page per entry, each page's lines drawn as text (made here, not a blob of unknown origin). */
export async function makePdf(pages: string[][]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([595, 842]);
    lines.forEach((line, index) => page.drawText(line, { x: 50, y: 780 - index * 20, size: 12, font }));
  }
  return Buffer.from(await pdf.save());
}

/** POSTs a multipart upload of one document; resolves to the status and JSON body. */
export async function uploadDocument(
  server: TestServer,
  session: Session,
  knowledgeBaseId: string,
  file: { bytes: Buffer | string; name: string; type: string; title?: string },
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  if (file.title) form.append('title', file.title);
  const bytes = typeof file.bytes === 'string' ? Buffer.from(file.bytes) : file.bytes;
  form.append('file', new Blob([new Uint8Array(bytes)], { type: file.type }), file.name);
  const response = await fetch(`${server.url}/api/v1/knowledge-bases/${knowledgeBaseId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.accessToken}` },
    body: form,
  });
  return { status: response.status, body: await response.json() };
}

/** Resolves with the `document.status` frame that shows the document `ready` or `failed`. */
export function documentSettled(client: TestClient, documentId: string, timeoutMs = 20_000): Promise<Frame> {
  return client.take(
    (frame) =>
      frame.type === 'document.status' && frame.document.id === documentId && ['ready', 'failed'].includes(frame.document.status),
    timeoutMs,
  );
}

/** Creates a knowledge base and returns its id. */
export async function createKnowledgeBase(server: TestServer, session: Session, name: string): Promise<string> {
  const response = await server.request('POST', '/api/v1/knowledge-bases', { token: session.accessToken, body: { name } });
  if (response.status !== 201) throw new Error(`create knowledge base failed: ${JSON.stringify(response.body)}`);
  return response.body.id;
}
