/**
 * The public shape of a scheduled agent run (docs/agents.md, "Scheduled runs"), shared by the
 * server and the web client (web/src/client). Dependency-free: imports nothing outside src/wire.
 * Times are ISO 8601 strings.
 */

/** A schedule as the API shows it; `nextRunAt` null once the expression has no more occurrences. */
export interface PublicSchedule {
  id: string;
  agentId: string;
  conversationId: string;
  createdBy: string;
  /** A five-field cron expression, read in `timezone` (an IANA name). */
  cron: string;
  timezone: string;
  prompt: string;
  paused: boolean;
  nextRunAt: string | null;
  lastFiredAt: string | null;
  createdAt: string;
}
