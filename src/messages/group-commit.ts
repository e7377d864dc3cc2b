import { uuidv7 } from 'uuidv7';
import { prepareStatement, type Db, type PreparedStatement } from '../db/database.ts';
import type { ForwardReference, MessageStatus } from '../db/schema.ts';
import type { ConversationRow } from '../conversations/conversations.ts';
import type { MessageRow } from './message-shape.ts';

/**
 * The conversation a message was just posted to, as listeners need it. `agentMemberIds` is read in
 * the append statement, so conversations without agents cost the reply trigger no query.
 */
export type PostedConversation = Pick<ConversationRow, 'id' | 'workspaceId' | 'kind'> & { agentMemberIds: string[] };

/** One message to store with the next seq of its conversation (see `NewMessage` in messages.ts). */
export interface AppendInput {
  workspaceId: string;
  conversationId: string;
  /** Without `handle`, the sender must be a user member of the conversation (checked in the statement). */
  sender: { type: 'user' | 'agent'; id: string; handle?: string };
  content: string;
  clientMsgId?: string;
  threadRootId?: string;
  onBehalfOf?: string;
  status?: MessageStatus;
  runId?: string;
  parts?: unknown[];
  /** Set on a forwarded copy (messaging). */
  forwardedFrom?: ForwardReference;
}

/** A stored message and its conversation. */
export interface Appended {
  row: MessageRow;
  conversation: PostedConversation;
}

/** Appends in one group statement at most; a larger backlog waits for the next statement. */
const maxBatch = 256;

interface Pending {
  input: AppendInput;
  resolve(result: Appended | undefined): void;
  reject(error: unknown): void;
}

const queues = new WeakMap<Db, AppendQueue>();

/** The append queue of `db` (one per database handle, so one group statement in flight per node). */
export function appendQueueOf(db: Db): AppendQueue {
  let queue = queues.get(db);
  if (!queue) {
    queue = new AppendQueue(db);
    queues.set(db, queue);
  }
  return queue;
}

/**
 * Group commit for message appends (the technique of database write-ahead logs, applied to the
 * statement rather than the fsync): appends that arrive while a statement is in flight, or during
 * the same event-loop turn, are stored together by one statement and one transaction. One
 * statement is in flight at a time per database handle, so the batch grows with the load and an
 * unloaded append still costs exactly one round trip. A group of one, the common case when the
 * server is not busy, goes through a single-row statement with the same checks and effects
 * (`singleInsertSql`, about half the group statement's time on PGlite). Both statements are
 * prepared once per session.
 *
 * Promise per append: it resolves only after its transaction committed, with the stored message,
 * or undefined when nothing was stored (not a member, a conversation that does not exist, a
 * `clientMsgId` already used); seqs are contiguous per conversation in arrival order. Whatever a
 * group leaves out, and every append of a group statement that fails (a unique-index race, a
 * deadlock with another node), is retried alone by the single-row statement, so each caller gets its
 * own outcome or error (a `clientMsgId` raced in meanwhile: the driver's unique violation).
 */
export class AppendQueue {
  readonly #groupInsert: PreparedStatement;
  readonly #singleInsert: PreparedStatement;
  #pending: Pending[] = [];
  #flushing = false;
  #scheduled = false;

  constructor(db: Db) {
    this.#groupInsert = prepareStatement(db, 'chorus_append_group', ['text'], groupInsertSql);
    this.#singleInsert = prepareStatement(db, 'chorus_append_one', singleInsertParamTypes, singleInsertSql);
  }

  /** Stores `input` with the next seq; undefined when it was not stored (see the class). */
  append(input: AppendInput): Promise<Appended | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (!this.#flushing && !this.#scheduled) {
        // Frames read in the same poll phase join the first one's statement.
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          void this.#flush();
        });
      }
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, groupLength(this.#pending));
        await this.#storeGroup(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** One append by the single-row statement: its own result, or its own error. */
  async #storeAlone(pending: Pending): Promise<void> {
    try {
      pending.resolve(await insertOne(this.#singleInsert, pending.input, uuidv7()));
    } catch (error) {
      pending.reject(error);
    }
  }

  async #storeGroup(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.#storeAlone(batch[0]);
    let stored: Map<string, Appended>;
    const ids = batch.map(() => uuidv7());
    try {
      stored = await insertGroup(
        this.#groupInsert,
        batch.map((pending) => pending.input),
        ids,
      );
    } catch {
      stored = new Map();
    }
    const leftOver: Pending[] = [];
    batch.forEach((pending, index) => {
      const appended = stored.get(ids[index]);
      if (appended) pending.resolve(appended);
      else leftOver.push(pending);
    });
    // In arrival order, so a conversation's seqs still follow the order its appends came in.
    for (const pending of leftOver) await this.#storeAlone(pending);
  }
}

/**
 * How many of the first `pending` appends go in one statement: at most `maxBatch`, and never two
 * with the same sender and `clientMsgId` (the second must see the first stored, not race it).
 */
function groupLength(pending: Pending[]): number {
  const keys = new Set<string>();
  const limit = Math.min(pending.length, maxBatch);
  for (let index = 0; index < limit; index++) {
    const { input } = pending[index];
    if (input.clientMsgId === undefined) continue;
    const key = `${input.conversationId} ${input.sender.id} ${input.clientMsgId}`;
    if (keys.has(key)) return index;
    keys.add(key);
  }
  return limit;
}

/**
 * Many appends, possibly to many conversations, in one statement: the inputs travel as one jsonb
 * parameter; each conversation's `last_seq` is bumped once by its number of accepted appends and
 * they take the seqs after it in input order; each moves its sender's read cursor when the sender
 * is a person. Appends whose sender is not a member, whose conversation does not exist or whose
 * `clientMsgId` is already stored are left out. Lateral lookups with `limit 1` keep every check a per-row
 * index probe whatever the planner guesses of the input's size.
 */
const groupInsertSql = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as x(
      ord int, id uuid, workspace_id uuid, conversation_id uuid, thread_root_id uuid, sender_type text,
      sender_id uuid, sender_handle text, on_behalf_of uuid, content text, parts jsonb, status text,
      run_id uuid, client_msg_id text, forwarded_from jsonb)
  ), accepted as (
    select input.*, coalesce(input.sender_handle, member.handle) as handle
    from input
    left join lateral (
      select users.handle from conversation_members
      join users on users.id = conversation_members.member_id
      where input.sender_handle is null and conversation_members.conversation_id = input.conversation_id
        and conversation_members.member_id = input.sender_id and conversation_members.workspace_id = input.workspace_id
      limit 1
    ) member on true
    left join lateral (
      select true as found from messages earlier
      where earlier.conversation_id = input.conversation_id and earlier.sender_id = input.sender_id
        and earlier.client_msg_id = input.client_msg_id
      limit 1
    ) earlier on true
    where coalesce(input.sender_handle, member.handle) is not null and earlier.found is null
  ), counts as (
    select conversation_id, workspace_id, count(*)::int as n from accepted group by conversation_id, workspace_id
  ), locked as (
    -- Row locks in id order: two nodes' group statements over the same conversations cannot deadlock.
    select id from conversations where id = any(array(select conversation_id from counts)) order by id for update
  ), counter as (
    update conversations set last_seq = conversations.last_seq + counts.n, last_activity_at = now()
    from counts, locked
    where conversations.id = locked.id
      and conversations.id = counts.conversation_id and conversations.workspace_id = counts.workspace_id
    returning conversations.id, conversations.kind, conversations.last_seq - counts.n as base_seq
  ), inserted as (
    insert into messages (id, workspace_id, conversation_id, seq, thread_root_id, sender_type, sender_id,
      sender_handle, on_behalf_of, content, parts, status, run_id, client_msg_id, forwarded_from)
    select accepted.id, accepted.workspace_id, accepted.conversation_id,
      counter.base_seq + row_number() over (partition by accepted.conversation_id order by accepted.ord),
      accepted.thread_root_id, accepted.sender_type, accepted.sender_id, accepted.handle, accepted.on_behalf_of,
      accepted.content, accepted.parts, accepted.status, accepted.run_id, accepted.client_msg_id, accepted.forwarded_from
    from accepted join counter on counter.id = accepted.conversation_id
    returning id, conversation_id, seq, sender_type, sender_id, sender_handle, created_at
  ), read_cursor as (
    update conversation_members set last_read_seq = greatest(conversation_members.last_read_seq, latest.seq)
    from (select conversation_id, sender_id, max(seq) as seq from inserted where sender_type = 'user'
          group by conversation_id, sender_id) latest
    where conversation_members.conversation_id = latest.conversation_id and conversation_members.member_id = latest.sender_id
  )
  select inserted.id, inserted.seq, inserted.sender_handle, inserted.created_at, counter.kind as conversation_kind,
    array(select member_id::text from conversation_members
          where conversation_id = counter.id and member_type = 'agent') as agent_member_ids
  from inserted join counter on counter.id = inserted.conversation_id`;

/** The parameter types of `singleInsertSql`, in order. */
const singleInsertParamTypes = 'uuid uuid uuid uuid text uuid text uuid text jsonb text uuid text jsonb'.split(' ');

/**
 * One append, as `groupInsertSql` stores a group of one but without its machinery (no jsonb
 * record set, no grouping, no window, no lock ordering: one conversation row is locked, by the
 * update that takes its next seq). $1 id, $2 workspace, $3 conversation, $4 thread root, $5 sender
 * type, $6 sender, $7 sender handle (null: the sender must be a user member, whose handle is
 * used), $8 on behalf of, $9 content, $10 parts, $11 status, $12 run, $13 clientMsgId,
 * $14 forwardedFrom. No row when the sender is not a member, the conversation does not exist in
 * the workspace, or the sender already stored `clientMsgId` there.
 */
const singleInsertSql = `
  with accepted as (
    select coalesce($7::text, (
      select users.handle from conversation_members
      join users on users.id = conversation_members.member_id
      where conversation_members.conversation_id = $3::uuid and conversation_members.member_id = $6::uuid
        and conversation_members.workspace_id = $2::uuid
    )) as handle
  ), counter as (
    update conversations set last_seq = last_seq + 1, last_activity_at = now()
    where id = $3::uuid and workspace_id = $2::uuid
      and (select handle from accepted) is not null
      and not exists (select 1 from messages earlier where earlier.conversation_id = $3::uuid
        and earlier.sender_id = $6::uuid and earlier.client_msg_id = $13::text)
    returning id, kind, last_seq
  ), inserted as (
    insert into messages (id, workspace_id, conversation_id, seq, thread_root_id, sender_type, sender_id,
      sender_handle, on_behalf_of, content, parts, status, run_id, client_msg_id, forwarded_from)
    select $1::uuid, $2::uuid, $3::uuid, counter.last_seq, $4::uuid, $5::text, $6::uuid, accepted.handle,
      $8::uuid, $9::text, $10::jsonb, $11::text, $12::uuid, $13::text, $14::jsonb
    from counter, accepted
    returning id, seq, sender_handle, created_at
  ), read_cursor as (
    update conversation_members set last_read_seq = greatest(conversation_members.last_read_seq, inserted.seq)
    from inserted
    where $5::text = 'user' and conversation_members.conversation_id = $3::uuid and conversation_members.member_id = $6::uuid
  )
  select inserted.id, inserted.seq, inserted.sender_handle, inserted.created_at, counter.kind as conversation_kind,
    array(select member_id::text from conversation_members
          where conversation_id = $3::uuid and member_type = 'agent') as agent_member_ids
  from inserted, counter`;

/**
 * Runs `singleInsertSql` (prepared once per session) for `input` stored as message `id`: the
 * stored append, or undefined when it was left out. Throws whatever the driver throws (a
 * `clientMsgId` raced in by another statement: its unique violation); then nothing was stored.
 */
async function insertOne(statement: PreparedStatement, input: AppendInput, id: string): Promise<Appended | undefined> {
  const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));
  const [raw] = await statement(
    id,
    input.workspaceId,
    input.conversationId,
    input.threadRootId ?? null,
    input.sender.type,
    input.sender.id,
    input.sender.handle ?? null,
    input.onBehalfOf ?? null,
    input.content,
    JSON.stringify(input.parts ?? []),
    input.status ?? 'complete',
    input.runId ?? null,
    input.clientMsgId ?? null,
    json(input.forwardedFrom),
  );
  return raw ? toAppended(id, input, raw) : undefined;
}

/**
 * Runs `groupInsertSql` (prepared once per session) for `inputs`; `ids[i]` is the id of
 * `inputs[i]`. Returns the stored appends by message id. Throws whatever the driver throws; then
 * nothing was stored.
 */
async function insertGroup(statement: PreparedStatement, inputs: AppendInput[], ids: string[]): Promise<Map<string, Appended>> {
  const records = inputs.map((input, index) => ({
    ord: index,
    id: ids[index],
    workspace_id: input.workspaceId,
    conversation_id: input.conversationId,
    thread_root_id: input.threadRootId ?? null,
    sender_type: input.sender.type,
    sender_id: input.sender.id,
    sender_handle: input.sender.handle ?? null,
    on_behalf_of: input.onBehalfOf ?? null,
    content: input.content,
    parts: input.parts ?? [],
    status: input.status ?? 'complete',
    run_id: input.runId ?? null,
    client_msg_id: input.clientMsgId ?? null,
    forwarded_from: input.forwardedFrom ?? null,
  }));
  const byId = new Map(inputs.map((input, index) => [ids[index], input]));
  const stored = new Map<string, Appended>();
  for (const raw of await statement(JSON.stringify(records))) {
    const id = raw.id as string;
    stored.set(id, toAppended(id, byId.get(id)!, raw));
  }
  return stored;
}

/** A stored append: only what the store decided (`raw`: seq, handle, time, conversation) comes back; the rest of the row is its input. */
function toAppended(id: string, input: AppendInput, raw: Record<string, unknown>): Appended {
  return {
    row: {
      id,
      workspaceId: input.workspaceId,
      conversationId: input.conversationId,
      seq: Number(raw.seq),
      threadRootId: input.threadRootId ?? null,
      senderType: input.sender.type,
      senderId: input.sender.id,
      senderHandle: raw.sender_handle as string,
      onBehalfOf: input.onBehalfOf ?? null,
      content: input.content,
      parts: input.parts ?? [],
      status: input.status ?? 'complete',
      error: null,
      usage: null,
      runId: input.runId ?? null,
      clientMsgId: input.clientMsgId ?? null,
      createdAt: new Date(raw.created_at as string | Date),
      editedAt: null,
      deletedAt: null,
      updatedSeq: 0,
      replyCount: 0,
      lastReplyAt: null,
      reactions: [],
      forwardedFrom: input.forwardedFrom ?? null,
    },
    conversation: {
      id: input.conversationId,
      workspaceId: input.workspaceId,
      kind: raw.conversation_kind as 'direct' | 'group',
      agentMemberIds: parsePgArray(raw.agent_member_ids),
    },
  };
}

/** A text[] column: node-postgres parses it, PGlite may hand back its `{a,b}` literal. */
function parsePgArray(value: unknown): string[] {
  if (Array.isArray(value)) return value as string[];
  if (typeof value === 'string' && value.length > 2) return value.slice(1, -1).split(',');
  return [];
}
