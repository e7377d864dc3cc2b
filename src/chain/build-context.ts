import { prepareStatement, type Db, type PreparedStatement } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { PublicMessage } from '../messages/message-shape.ts';
import type { ChatTurn } from '../providers/model-stream.ts';
import { countTokens } from './token-count.ts';

/**
 * Whose side a run writes from (bindings): `userId`'s own messages, and messages written on their
 * behalf, become the model's `assistant` turns; everyone else's are `user` turns prefixed with their
 * handle. `system` replaces the agent's system prompt; `closingTurn`, when set, is appended as a
 * last `user` turn (asks the model for the next message).
 */
export interface ReplyPerspective {
  userId: string;
  system: string;
  closingTurn?: string;
}

/** Tokens a chat message costs beyond its text (role and separators), as OpenAI documents. */
const perMessageOverheadTokens = 4;
/** How far back a context looks at most, whatever the window. */
const maxHistoryMessages = 200;

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
  /** The person an agent wrote this for (bindings), when one did. */
  onBehalfOf?: string | null;
  content: string;
}

/**
 * Turns history (oldest first, ending with the trigger) into model messages that fit
 * `contextWindowTokens - maxOutputTokens`: the system prompt always, then as many of the most
 * recent messages as fit, oldest dropped first. The agent's own messages become `assistant`;
 * everyone else's become `user` prefixed with their handle. A context never starts with an
 * `assistant` message. With a `perspective` (an agent writing for a person) the person's side is
 * `assistant` instead (see `ReplyPerspective`) and its `closingTurn` always ends the context.
 * Tokens are counted only when the UTF-8 size (an upper bound) exceeds the budget, newest first,
 * in batches of about four times the budget left in bytes (English runs ~4 bytes per token), so a
 * long history is not counted further back than it can reach. Throws provider_error when even the
 * newest message does not fit.
 */
export async function fitContext(input: {
  agentId: string;
  systemPrompt: string;
  history: HistoryEntry[];
  contextWindowTokens: number;
  maxOutputTokens: number;
  perspective?: ReplyPerspective;
}): Promise<RunContext> {
  const system = input.systemPrompt.trim() || undefined;
  const all = input.history.map((entry) => toChatTurn(entry, input.agentId, input.perspective?.userId));
  const closingTurn = input.perspective?.closingTurn;
  if (closingTurn) all.push({ role: 'user', content: closingTurn });
  const budget = input.contextWindowTokens - input.maxOutputTokens;
  // A BPE token is at least one UTF-8 byte, so when the bytes fit, the tokens fit: skip counting.
  const byteBound = (system ? byteCost(system) : 0) + all.reduce((sum, message) => sum + byteCost(message.content), 0);
  if (byteBound <= budget) return finish(system, all, [], input.history.length, null);

  let used = system ? (await tokenCosts([system]))[0]! : 0;
  const kept: ChatTurn[] = [];
  const keptCosts: number[] = [];
  let next = all.length - 1;
  counting: while (next >= 0 && used <= budget) {
    const batch: ChatTurn[] = [];
    for (let bytes = 0; next >= 0 && (batch.length === 0 || bytes <= 4 * (budget - used)); next--) {
      batch.push(all[next]!);
      bytes += byteCost(all[next]!.content);
    }
    const costs = await tokenCosts(batch.map((message) => message.content));
    for (const [index, message] of batch.entries()) {
      if (used + costs[index]! > budget) break counting;
      used += costs[index]!;
      kept.push(message);
      keptCosts.push(costs[index]!);
    }
  }
  if (kept.length === 0 && all.length > 0) {
    throw new AppError(
      'provider_error',
      `The conversation does not fit the model's context window of ${input.contextWindowTokens} tokens (reserving ${input.maxOutputTokens} for the reply)`,
    );
  }
  return finish(system, kept.reverse(), keptCosts.reverse(), input.history.length, used);
}

/** Drops leading `assistant` turns (and their counted cost, when counted) and builds the context. */
function finish(
  system: string | undefined,
  kept: ChatTurn[],
  keptCosts: number[],
  historyLength: number,
  countedTokens: number | null,
): RunContext {
  let start = 0;
  while (start < kept.length && kept[start]!.role === 'assistant') start++;
  const messages = kept.slice(start);
  const promptTokens =
    countedTokens === null ? null : countedTokens - keptCosts.slice(0, start).reduce((sum, cost) => sum + cost, 0);
  return { system, messages, promptTokens, includedMessages: messages.length, droppedMessages: historyLength - messages.length };
}

const byteCost = (text: string) => Buffer.byteLength(text, 'utf8') + perMessageOverheadTokens;
const tokenCosts = async (texts: string[]) => (await countTokens(texts)).map((tokens) => tokens + perMessageOverheadTokens);

function toChatTurn(entry: HistoryEntry, agentId: string, forUserId: string | undefined): ChatTurn {
  if (forUserId !== undefined) {
    const mine = entry.senderId === forUserId || entry.onBehalfOf === forUserId;
    return mine
      ? { role: 'assistant', content: entry.content }
      : { role: 'user', content: `${entry.senderHandle}: ${entry.content}` };
  }
  if (entry.senderType === 'agent' && entry.senderId === agentId) return { role: 'assistant', content: entry.content };
  return { role: 'user', content: `${entry.senderHandle}: ${entry.content}` };
}

/**
 * The history a reply to `trigger` sees, oldest first, ending with the trigger: the trigger's
 * thread (root and replies) when it is in one, else the conversation's top-level messages, up to
 * the trigger's seq; plus `agentId`'s own replies stored after the trigger (messages sent while an
 * earlier run was starting can take their seq before its reply), placed just before the trigger.
 * Runs of one agent in one conversation go one at a time in trigger order, so those replies all
 * answer earlier messages. Messages still streaming, empty messages and a paused run's requests to
 * a person (a `human-request` part) are left out. One prepared
 * statement: this read is on the path from a posted message to the model request.
 */
export async function loadHistory(db: Db, trigger: PublicMessage, agentId: string): Promise<HistoryEntry[]> {
  let statements = historyStatements.get(db);
  if (!statements) {
    statements = {
      topLevel: prepareStatement(db, 'chorus_history', historyParamTypes.slice(0, 3), historySql('thread_root_id is null')),
      thread: prepareStatement(db, 'chorus_thread_history', historyParamTypes, historySql('(id = $4 or thread_root_id = $4)')),
    };
    historyStatements.set(db, statements);
  }
  const { conversationId, seq, threadRootId } = trigger;
  const rows = threadRootId
    ? await statements.thread(conversationId, String(seq), agentId, threadRootId)
    : await statements.topLevel(conversationId, String(seq), agentId);
  const history: HistoryEntry[] = [];
  const later: HistoryEntry[] = [];
  for (const row of rows.reverse()) {
    const entry: HistoryEntry = {
      senderType: row.sender_type as HistoryEntry['senderType'],
      senderId: row.sender_id as string,
      senderHandle: row.sender_handle as string,
      onBehalfOf: (row.on_behalf_of as string | null) ?? null,
      content: row.content as string,
    };
    (Number(row.seq) > seq ? later : history).push(entry);
  }
  if (later.length > 0) history.splice(Math.max(history.length - 1, 0), 0, ...later);
  return history;
}

const historyStatements = new WeakMap<Db, { topLevel: PreparedStatement; thread: PreparedStatement }>();
const historyParamTypes = ['uuid', 'bigint', 'uuid', 'uuid'];

/** $1 conversation, $2 the trigger's seq, $3 the agent, $4 the thread root (unused at top level). */
function historySql(scope: string): string {
  return `
    select seq, sender_type, sender_id, sender_handle, on_behalf_of, content from messages
    where conversation_id = $1::uuid
      and (seq <= $2::bigint or (sender_type = 'agent' and sender_id = $3::uuid))
      and status <> 'streaming' and content <> '' and not parts @> '[{"type":"human-request"}]'::jsonb
      and ${scope.replaceAll('$4', '$4::uuid')}
    order by seq desc
    limit ${maxHistoryMessages}`;
}
