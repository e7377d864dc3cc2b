import type { Agent, Conversation, User } from './client/index.ts';

/** "14:05" today, "Mon 14:05" this week, else "12 Mar 14:05". */
export function formatTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === now.toDateString()) return time;
  const ageMs = now.getTime() - date.getTime();
  if (ageMs < 6 * 24 * 3600 * 1000) return `${date.toLocaleDateString(undefined, { weekday: 'short' })} ${time}`;
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

/** The display name for a sender id: conversation member, workspace user or agent, else the handle. */
export function displayName(
  id: string,
  handle: string,
  sources: { conversation?: Conversation; users: User[]; agents: Agent[] },
): string {
  const member = sources.conversation?.members.find((candidate) => candidate.id === id);
  if (member?.displayName) return member.displayName;
  return (
    sources.users.find((user) => user.id === id)?.displayName ??
    sources.agents.find((agent) => agent.id === id)?.displayName ??
    handle
  );
}

/** Up to two initials for an avatar. */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words[1]?.[0] ?? '')).toUpperCase();
}

/** One line of plain text from markdown, for previews: fences, emphasis marks and line breaks removed. */
export function plainPreview(markdown: string, maxChars = 120): string {
  return markdown
    .replace(/```[\s\S]*?(```|$)/g, ' [code] ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`~#>]+/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, maxChars);
}

/**
 * A readable sentence for a failed call: the server's message, then each `details` entry
 * (`[{path, message}]`, SPEC §4's error shape) as "path: message".
 */
export function errorText(caught: unknown): string {
  if (!(caught instanceof Error)) return String(caught);
  const details = (caught as { details?: unknown }).details;
  const lines = Array.isArray(details)
    ? details
        .filter((entry): entry is { path?: unknown; message: string } => typeof entry?.message === 'string')
        .map((entry) => (entry.path ? `${String(entry.path)}: ${entry.message}` : entry.message))
        .filter((line) => !caught.message.includes(line))
    : [];
  return lines.length ? `${caught.message} (${lines.join('; ')})` : caught.message;
}
