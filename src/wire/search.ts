/**
 * The public shape of a message search hit (docs/api.md, "Search"), shared by the server and the
 * web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 */
import type { PublicMessage } from './message.ts';

/** A piece of a highlight: matched words have `highlighted: true`. Plain text, never HTML. */
export interface HighlightSegment {
  text: string;
  highlighted: boolean;
}

/** One matching message, its rank (higher is better) and an excerpt split into highlight segments. */
export interface SearchHit {
  message: PublicMessage;
  rank: number;
  highlight: HighlightSegment[];
}
