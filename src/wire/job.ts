/**
 * The public shape of a background job (docs/api.md, "Jobs"), shared by the server and the web
 * client (web/src/client). Dependency-free: imports nothing outside src/wire. Times are ISO 8601.
 */

/** `failed`: dead-lettered after its last attempt. */
export type JobState = 'queued' | 'running' | 'failed';

/** A job as `GET /api/v1/jobs` shows it. Times are ISO 8601. */
export interface JobInfo {
  id: string;
  kind: string;
  state: JobState;
  priority: number;
  /** 0 to 1, as last reported by the handler. */
  progress: number;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  /** The last failed attempt's error message. */
  error: string | null;
  workspaceId: string | null;
  createdAt: string;
}
