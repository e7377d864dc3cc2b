import { inArray, sql } from 'drizzle-orm';
import type { Principal } from '../auth/auth-service.ts';
import type { Executor } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import { toPublicMessage } from '../messages/message-shape.ts';
import type { HighlightSegment, SearchHit } from '../wire/search.ts';

/** Search filters; `q` is web-search syntax (`"exact phrase"`, `-not`, `or`). Dates are ISO 8601. */
export interface SearchQuery {
  q: string;
  conversationId?: string;
  /** A sender handle, case-insensitive. */
  sender?: string;
  before?: string;
  after?: string;
  cursor?: string;
  limit: number;
}

const startSel = '\u{E000}';
const stopSel = '\u{E001}';

/**
 * Full-text search (PostgreSQL tsvector, English stemming, GIN index) over the messages of
 * conversations the principal is a member of, in the principal's workspace only, tombstones and
 * agents' still-streaming messages excluded. Ordered by rank (ts_rank), then newest first; paged by
 * an opaque `cursor` (`nextCursor` null on the last page). Throws invalid_request for a bad cursor
 * or a query without searchable words.
 */
export async function searchMessages(
  db: Executor,
  principal: Principal,
  query: SearchQuery,
): Promise<{ items: SearchHit[]; nextCursor: string | null }> {
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const result = await db.execute(sql`
    with q as (select websearch_to_tsquery('english', ${query.q}) as query)
    select id, rank, ts_headline('english', content, q.query,
      ${`StartSel=${startSel}, StopSel=${stopSel}, MaxWords=24, MinWords=12`}) as headline
    from (
      select m.id, m.content, ts_rank(m.search_tsv, q.query) as rank
      from messages m
      cross join q
      join conversation_members cm on cm.conversation_id = m.conversation_id
        and cm.member_id = ${principal.userId} and cm.workspace_id = ${principal.workspaceId}
      where m.workspace_id = ${principal.workspaceId} and m.search_tsv @@ q.query
        and m.deleted_at is null and m.status <> 'streaming'
        ${query.conversationId ? sql`and m.conversation_id = ${query.conversationId}` : sql``}
        ${query.sender ? sql`and lower(m.sender_handle) = lower(${query.sender})` : sql``}
        ${query.before ? sql`and m.created_at < ${query.before}::timestamptz` : sql``}
        ${query.after ? sql`and m.created_at > ${query.after}::timestamptz` : sql``}
    ) ranked
    cross join q
    where ${cursor ? sql`(rank < ${cursor.rank}::real or (rank = ${cursor.rank}::real and id < ${cursor.id}::uuid))` : sql`true`}
    order by rank desc, id desc
    limit ${query.limit + 1}`);
  const rows = (result as unknown as { rows: Array<{ id: string; rank: number; headline: string }> }).rows;
  if (rows.length === 0 && cursor === undefined) await checkSearchable(db, query.q);
  const page = rows.slice(0, query.limit);
  const found = page.length
    ? await db
        .select()
        .from(messages)
        .where(
          inArray(
            messages.id,
            page.map((row) => row.id),
          ),
        )
    : [];
  const byId = new Map(found.map((row) => [row.id, row]));
  const items = page.map((row) => ({
    message: toPublicMessage(byId.get(row.id)!),
    rank: Number(row.rank),
    highlight: toSegments(row.headline),
  }));
  const last = page.at(-1);
  return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(Number(last.rank), last.id) : null };
}

/** Throws invalid_request when `q` has no word to look for (only stop words such as "the", or punctuation). */
async function checkSearchable(db: Executor, q: string): Promise<void> {
  const result = await db.execute(sql`select numnode(websearch_to_tsquery('english', ${q})) as nodes`);
  const [row] = (result as unknown as { rows: Array<{ nodes: number }> }).rows;
  if (Number(row?.nodes ?? 0) === 0)
    throw new AppError('invalid_request', 'The search has no words to look for: very common words such as "the" are ignored', {
      details: [{ path: 'q', message: 'no searchable words' }],
    });
}

function toSegments(headline: string): HighlightSegment[] {
  const segments: HighlightSegment[] = [];
  for (const [index, piece] of headline.split(startSel).entries()) {
    const [marked, rest] = index === 0 ? [undefined, piece] : piece.split(stopSel);
    if (marked) segments.push({ text: marked, highlighted: true });
    if (rest) segments.push({ text: rest, highlighted: false });
  }
  return segments;
}

function encodeCursor(rank: number, id: string): string {
  return Buffer.from(JSON.stringify([rank, id])).toString('base64url');
}

function decodeCursor(cursor: string): { rank: number; id: string } {
  try {
    const [rank, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof rank === 'number' && typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) return { rank, id };
  } catch {
    // fall through
  }
  throw new AppError('invalid_request', 'Invalid cursor');
}
