/**
 * The public shapes of bindings and advice (docs/api.md), shared by the server and the web client
 * (web/src/client). Dependency-free: imports nothing outside src/wire. Times are ISO 8601 strings.
 */
import type { MessageUsage } from './message.ts';

/** A binding as the API shows it (only to its owner). `delaySeconds` in seconds. */
export interface PublicBinding {
  id: string;
  conversationId: string;
  userId: string;
  agentId: string;
  /** `autoreply`: answers for them, marked onBehalfOf; `advice`: suggests privately. */
  mode: 'autoreply' | 'advice';
  enabled: boolean;
  onlyWhenAway: boolean;
  delaySeconds: number;
  instructions: string;
  /** Runs per UTC day (autoreplies or suggestions); null for no limit. */
  dailyMessageBudget: number | null;
  /** Runs started today (UTC) against the budget. */
  usedToday: number;
  createdAt: string;
  updatedAt: string;
}

/** The editable options of a binding; absent fields keep their value (or take the default on create). */
export interface BindingOptions {
  enabled?: boolean;
  onlyWhenAway?: boolean;
  delaySeconds?: number;
  instructions?: string;
  dailyMessageBudget?: number | null;
}

/** The kill switch's state for one user: while paused, none of their bindings runs. */
export interface BindingPauseState {
  userId: string;
  paused: boolean;
  pausedBy: string | null;
  pausedAt: string | null;
}

export type AdviceStatus = 'streaming' | 'ready' | 'failed' | 'cancelled' | 'interrupted' | 'sent' | 'dismissed';

/**
 * Private advice as its owner sees it (never anyone else). `kind` `suggestion`: what the agent
 * proposes to write (`streaming` while written, then `ready`, or `failed` / `cancelled` /
 * `interrupted`; `sent` or `dismissed` once handled); `notice`: a note from Chorus to the owner
 * (e.g. a binding's daily budget is spent), `ready` until dismissed.
 */
export interface PublicAdvice {
  id: string;
  conversationId: string;
  userId: string;
  agentId: string | null;
  bindingId: string | null;
  runId: string | null;
  triggerMessageId: string | null;
  kind: 'suggestion' | 'notice';
  content: string;
  status: AdviceStatus;
  error: string | null;
  usage: MessageUsage | null;
  sentMessageId: string | null;
  createdAt: string;
  updatedAt: string;
}
