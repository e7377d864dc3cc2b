/** Someone who can be @-mentioned. */
export interface MentionCandidate {
  id: string;
  handle: string;
  displayName: string;
  type: 'user' | 'agent';
}

/** The `@query` being typed just before `caret`, with where it starts; null when none. */
export function mentionAt(text: string, caret: number): { query: string; start: number } | null {
  const match = /(^|\s)@([\w.-]{0,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { query: match[2]!, start: caret - match[2]!.length - 1 };
}

/** Up to `limit` candidates whose handle or name starts with (then contains) `query`, case-insensitive. */
export function filterMentions(candidates: MentionCandidate[], query: string, limit = 8): MentionCandidate[] {
  const needle = query.toLowerCase();
  const score = (candidate: MentionCandidate) => {
    const handle = candidate.handle.toLowerCase();
    const name = candidate.displayName.toLowerCase();
    if (handle.startsWith(needle)) return 0;
    if (name.startsWith(needle)) return 1;
    if (handle.includes(needle) || name.includes(needle)) return 2;
    return -1;
  };
  return candidates
    .map((candidate) => ({ candidate, rank: score(candidate) }))
    .filter((entry) => entry.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.candidate.handle.localeCompare(b.candidate.handle))
    .slice(0, limit)
    .map((entry) => entry.candidate);
}

/** `text` with the mention starting at `start` (through `caret`) replaced by `@handle `, and the new caret. */
export function insertMention(text: string, start: number, caret: number, handle: string): { text: string; caret: number } {
  const inserted = `@${handle} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}
