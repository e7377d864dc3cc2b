/**
 * The public shape of an agent's memory of a person (docs/agents.md, "Memory"), shared by the
 * server and the web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 * Times are ISO 8601 strings.
 */

/** A fact an agent remembers about the user who reads it (only that user ever sees it). */
export interface PublicMemory {
  id: string;
  agentId: string;
  content: string;
  sourceMessageId: string | null;
  createdAt: string;
}
