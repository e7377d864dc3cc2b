/** One chunk of a document before it is stored. */
export interface TextChunk {
  position: number;
  /** The headings above the chunk, outermost first, joined with ' › '; '' when none. */
  heading: string;
  text: string;
}

/** Chunk sizes in characters (~4 per token: ~300-token chunks, ~40 tokens shared with the previous one). */
export const chunkSizes = { maxChars: 1_200, overlapChars: 160 } as const;

/**
 * Splits Markdown-flavoured text into chunks: first at headings (`#` … `######` lines; a chunk
 * never spans two sections), then at paragraph breaks, lines and finally spaces so that no chunk
 * exceeds `maxChars`. Consecutive chunks of one section share up to `overlapChars` (the end of the
 * previous chunk, cut at a word boundary), so a sentence cut in two is found whole in one of them.
 * Empty sections are skipped; positions are 0, 1, 2 … in document order.
 */
export function chunkText(text: string, sizes: { maxChars: number; overlapChars: number } = chunkSizes): TextChunk[] {
  const chunks: TextChunk[] = [];
  for (const section of splitSections(text)) {
    let previous = '';
    for (const piece of packPieces(
      splitToFit(section.body, sizes.maxChars - sizes.overlapChars),
      sizes.maxChars - sizes.overlapChars,
    )) {
      const overlap = previous ? tailAtWord(previous, sizes.overlapChars) : '';
      chunks.push({ position: chunks.length, heading: section.heading, text: overlap ? `${overlap} ${piece}` : piece });
      previous = piece;
    }
  }
  return chunks;
}

function splitSections(text: string): Array<{ heading: string; body: string }> {
  const sections: Array<{ heading: string; body: string }> = [];
  const path: string[] = [];
  let body: string[] = [];
  const flush = () => {
    const joined = body.join('\n').trim();
    if (joined) sections.push({ heading: path.filter(Boolean).join(' › '), body: joined });
    body = [];
  };
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const heading = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) {
      body.push(line);
      continue;
    }
    flush();
    const level = heading[1]!.length;
    path.length = level;
    path[level - 1] = heading[2]!;
  }
  flush();
  return sections;
}

/** Breaks `body` into pieces of at most `limit` characters, at the coarsest boundary that works. */
function splitToFit(body: string, limit: number): string[] {
  const separators = [/\n\s*\n/, /\n/, /(?<=[.!?])\s+/, /\s+/];
  const split = (text: string, level: number): string[] => {
    if (text.length <= limit) return [text];
    const separator = separators[level];
    if (!separator)
      return Array.from({ length: Math.ceil(text.length / limit) }, (_, index) => text.slice(index * limit, (index + 1) * limit));
    return text
      .split(separator)
      .map((part) => part.trim())
      .filter(Boolean)
      .flatMap((part) => split(part, level + 1));
  };
  return split(body.trim(), 0);
}

/** Joins consecutive pieces while they fit in `limit`. */
function packPieces(pieces: string[], limit: number): string[] {
  const packed: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && current.length + 1 + piece.length > limit) {
      packed.push(current);
      current = piece;
    } else {
      current = current ? `${current}\n${piece}` : piece;
    }
  }
  if (current) packed.push(current);
  return packed;
}

function tailAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const tail = text.slice(-maxChars);
  const space = tail.search(/\s/);
  return (space >= 0 ? tail.slice(space + 1) : tail).trim();
}
