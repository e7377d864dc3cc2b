import { fileTypeFromBuffer } from 'file-type';
import { parse, NodeType, type HTMLElement, type Node } from 'node-html-parser';
import { AppError } from '../errors/app-error.ts';

/** The document types ingestion reads. */
export const documentTypes = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;
export type DocumentType = (typeof documentTypes)[number];

/** Extracted text, Markdown-flavoured: headings are `#` lines, which chunking splits on. */
export interface ExtractedText {
  text: string;
  /** PDF pages, or 1 for the other types. */
  pageCount: number;
  /** A title found in the document (HTML `<title>`, a Markdown first heading), if any. */
  title?: string;
}

/**
 * The type of a document from its bytes (PDF by magic number; UTF-8 text without NULs is text), its
 * declared type and file name (`.md`/`.markdown`, `.html`/`.htm` tell text apart). Throws
 * invalid_request for anything else (images, archives, binary).
 */
export async function detectDocumentType(bytes: Buffer, declaredType: string, fileName: string): Promise<DocumentType> {
  const sniffed = await fileTypeFromBuffer(bytes);
  if (sniffed?.mime === 'application/pdf') return 'application/pdf';
  if (sniffed || bytes.includes(0) || !isUtf8(bytes)) {
    throw new AppError(
      'invalid_request',
      `Documents must be text, Markdown, HTML or PDF; this file is ${sniffed?.mime ?? 'binary'}`,
      { details: { supportedTypes: documentTypes } },
    );
  }
  const declared = declaredType.split(';')[0]!.trim().toLowerCase();
  const name = fileName.toLowerCase();
  if (declared === 'text/html' || name.endsWith('.html') || name.endsWith('.htm')) return 'text/html';
  if (declared === 'text/markdown' || name.endsWith('.md') || name.endsWith('.markdown')) return 'text/markdown';
  return 'text/plain';
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Reads the text of a document of a known type. Throws invalid_request when a PDF cannot be parsed. */
export async function extractText(bytes: Buffer, type: DocumentType): Promise<ExtractedText> {
  if (type === 'application/pdf') return extractPdf(bytes);
  const source = bytes.toString('utf8');
  if (type === 'text/html') return extractHtml(source);
  const firstHeading = type === 'text/markdown' ? /^#{1,6}\s+(.+)$/m.exec(source)?.[1]?.trim() : undefined;
  return { text: source, pageCount: 1, ...(firstHeading ? { title: firstHeading } : {}) };
}

async function extractPdf(bytes: Buffer): Promise<ExtractedText> {
  const { extractText: readPdf } = await import('unpdf');
  try {
    const { totalPages, text } = await readPdf(new Uint8Array(bytes), { mergePages: false });
    return { text: text.map((page) => page.trim()).join('\n\n'), pageCount: totalPages };
  } catch (error) {
    throw new AppError('invalid_request', `The PDF could not be read: ${(error as Error).message}`, { cause: error });
  }
}

const skippedTags = new Set(['script', 'style', 'noscript', 'template', 'svg', 'head']);
const blockTags = new Set(['p', 'div', 'li', 'ul', 'ol', 'br', 'tr', 'section', 'article', 'pre', 'blockquote', 'table', 'main']);

function extractHtml(source: string): ExtractedText {
  const root = parse(source, { comment: false });
  const title = root.querySelector('title')?.text.trim();
  const text = renderNode(root)
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text, pageCount: 1, ...(title ? { title } : {}) };
}

/** Text of an HTML node: headings become `#` lines, blocks get line breaks, scripts and styles vanish. */
function renderNode(node: Node): string {
  if (node.nodeType === NodeType.TEXT_NODE) return node.text.replace(/\s+/g, ' ');
  if (node.nodeType !== NodeType.ELEMENT_NODE) return '';
  const element = node as HTMLElement;
  const tag = element.rawTagName?.toLowerCase() ?? '';
  if (skippedTags.has(tag)) return '';
  const heading = /^h([1-6])$/.exec(tag);
  if (heading) return `\n\n${'#'.repeat(Number(heading[1]))} ${element.text.replace(/\s+/g, ' ').trim()}\n\n`;
  const inner = element.childNodes.map(renderNode).join('');
  return blockTags.has(tag) ? `\n${inner}\n` : inner;
}
