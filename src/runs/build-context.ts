import type { ModelMessage } from 'ai';
import { and, desc, eq, isNull, lte, ne, or } from 'drizzle-orm';
import { countTokens } from 'gpt-tokenizer';
import type { Executor } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { PublicMessage } from '../messages/message-shape.ts';

/** Tokens a chat message costs beyond its text (role and separators), as OpenAI documents. */
const perMessageOverheadTokens = 4;
/** How far back a context looks at most, whatever the window. */
const maxHistoryMessages = 200;
const noSpecialTokens = { disallowedSpecial: new Set<string>() };

/** Tokens of `text` counted with the o200k tokenizer (close enough for other vendors' budgeting). */
export function countTextTokens(text: string): number {
  return countTokens(text, noSpecialTokens);
}

/** What a run sends to the model, with how it was budgeted (recorded on the `generate` step). */
export interface RunContext {
  system: string | undefined;
  messages: ModelMessage[];
  /** Tokens of system + messages as counted here. */
  promptTokens: number;
  includedMessages: number;
  droppedMessages: number;
}

/** One history entry before budgeting. */
export interface HistoryEntry {
  senderType: 'user' | 'agent';
  senderId: string;
  senderHandle: string;
  content: string;
}

/**
 * Turns history (oldest first, ending with the trigger) into model messages that fit
 * `contextWindowTokens - maxOutputTokens`: the system prompt always, then as many of the most
 * recent messages as fit, oldest dropped first. The agent's own messages become `assistant`;
 * everyone else's become `user` prefixed with their handle. A context never starts with an
 * `assistant` message. Throws provider_error when even the newest message does not fit.
 */
export function fitContext(input: {
  agentId: string;
  systemPrompt: string;
  history: HistoryEntry[];
  contextWindowTokens: number;
  maxOutputTokens: number;
}): RunContext {
  const system = input.systemPrompt.trim() || undefined;
  const systemTokens = system ? countTextTokens(system) + perMessageOverheadTokens : 0;
  const budget = input.contextWindowTokens - input.maxOutputTokens - systemTokens;
  const kept: ModelMessage[] = [];
  let used = 0;
  for (let index = input.history.length - 1; index >= 0; index--) {
    const entry = input.history[index];
    const message = toModelMessage(entry, input.agentId);
    const cost = countTextTokens(message.content as string) + perMessageOverheadTokens;
    if (used + cost > budget) break;
    used += cost;
    kept.push(message);
  }
  if (kept.length === 0 && input.history.length > 0) {
    throw new AppError(
      'provider_error',
      `The conversation does not fit the model's context window of ${input.contextWindowTokens} tokens (reserving ${input.maxOutputTokens} for the reply)`,
    );
  }
  kept.reverse();
  while (kept.length > 0 && kept[0].role === 'assistant') {
    kept.shift();
  }
  const promptTokens = systemTokens + kept.reduce((sum, message) => sum + countTextTokens(message.content as string) + perMessageOverheadTokens, 0);
  return { system, messages: kept, promptTokens, includedMessages: kept.length, droppedMessages: input.history.length - kept.length };
}

function toModelMessage(entry: HistoryEntry, agentId: string): ModelMessage {
  if (entry.senderType === 'agent' && entry.senderId === agentId) return { role: 'assistant', content: entry.content };
  return { role: 'user', content: `${entry.senderHandle}: ${entry.content}` };
}

/**
 * The history a reply to `trigger` sees, oldest first, ending with the trigger: the trigger's
 * thread (root and replies) when it is in one, else the conversation's top-level messages.
 * Messages still streaming and empty messages are left out.
 */
export async function loadHistory(db: Executor, trigger: PublicMessage): Promise<HistoryEntry[]> {
  const scope = trigger.threadRootId
    ? or(eq(messages.id, trigger.threadRootId), eq(messages.threadRootId, trigger.threadRootId))
    : isNull(messages.threadRootId);
  const rows = await db
    .select({
      senderType: messages.senderType,
      senderId: messages.senderId,
      senderHandle: messages.senderHandle,
      content: messages.content,
    })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, trigger.conversationId),
        lte(messages.seq, trigger.seq),
        ne(messages.status, 'streaming'),
        ne(messages.content, ''),
        scope,
      ),
    )
    .orderBy(desc(messages.seq))
    .limit(maxHistoryMessages);
  return rows.reverse();
}
