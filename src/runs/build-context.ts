import { and, desc, eq, isNull, lte, ne, or } from 'drizzle-orm';
import { createRequire } from 'node:module';
import type { Executor } from '../db/database.ts';
import { messages } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { ChatTurn } from '../providers/model-stream.ts';

/** Tokens a chat message costs beyond its text (role and separators), as OpenAI documents. */
const perMessageOverheadTokens = 4;
/** How far back a context looks at most, whatever the window. */
const maxHistoryMessages = 200;
const noSpecialTokens = { disallowedSpecial: new Set<string>() };

const require = createRequire(import.meta.url);
let tokenizer: typeof import('gpt-tokenizer') | undefined;

/**
 * Tokens of `text` counted with the o200k tokenizer (close enough for other vendors' budgeting).
 * The tokenizer is loaded on the first count: its encoding costs ~60 MB of RSS, and a server whose
 * contexts fit by byte size and whose providers report usage never needs it.
 */
export function countTextTokens(text: string): number {
  tokenizer ??= require('gpt-tokenizer') as typeof import('gpt-tokenizer');
  return tokenizer.countTokens(text, noSpecialTokens);
}

/** What a run sends to the model, with how it was budgeted (recorded on the `generate` step). */
export interface RunContext {
  system: string | undefined;
  messages: ChatTurn[];
  /** Tokens of system + messages as counted here; null when everything fit without counting. */
  promptTokens: number | null;
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
 * `assistant` message. Tokens are counted only when the UTF-8 size (an upper bound) exceeds the
 * budget. Throws provider_error when even the newest message does not fit.
 */
export function fitContext(input: {
  agentId: string;
  systemPrompt: string;
  history: HistoryEntry[];
  contextWindowTokens: number;
  maxOutputTokens: number;
}): RunContext {
  const system = input.systemPrompt.trim() || undefined;
  const all = input.history.map((entry) => toChatTurn(entry, input.agentId));
  const budget = input.contextWindowTokens - input.maxOutputTokens;
  // A BPE token is at least one UTF-8 byte, so when the bytes fit, the tokens fit: skip counting.
  const byteBound = (system ? byteCost(system) : 0) + all.reduce((sum, message) => sum + byteCost(textOfMessage(message)), 0);
  if (byteBound <= budget) return finish(system, all, input.history.length, null);

  const systemTokens = system ? tokenCost(system) : 0;
  const kept: ChatTurn[] = [];
  let used = systemTokens;
  for (let index = all.length - 1; index >= 0; index--) {
    const cost = tokenCost(textOfMessage(all[index]));
    if (used + cost > budget) break;
    used += cost;
    kept.push(all[index]);
  }
  if (kept.length === 0 && all.length > 0) {
    throw new AppError(
      'provider_error',
      `The conversation does not fit the model's context window of ${input.contextWindowTokens} tokens (reserving ${input.maxOutputTokens} for the reply)`,
    );
  }
  kept.reverse();
  return finish(system, kept, input.history.length, used);
}

function finish(system: string | undefined, kept: ChatTurn[], historyLength: number, countedTokens: number | null): RunContext {
  let start = 0;
  while (start < kept.length && kept[start].role === 'assistant') start++;
  const messages = kept.slice(start);
  const promptTokens =
    countedTokens === null
      ? null
      : countedTokens - kept.slice(0, start).reduce((sum, message) => sum + tokenCost(textOfMessage(message)), 0);
  return { system, messages, promptTokens, includedMessages: messages.length, droppedMessages: historyLength - messages.length };
}

const byteCost = (text: string) => Buffer.byteLength(text, 'utf8') + perMessageOverheadTokens;
const tokenCost = (text: string) => countTextTokens(text) + perMessageOverheadTokens;
const textOfMessage = (message: ChatTurn) => message.content;

function toChatTurn(entry: HistoryEntry, agentId: string): ChatTurn {
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
