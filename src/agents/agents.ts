import { and, eq, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Principal } from '../auth/auth-service.ts';
import type { Db, Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { agents, conversationMembers, handles } from '../db/schema.ts';
import { claimHandle } from '../users/handles.ts';
import { AppError, notFound } from '../errors/app-error.ts';
import type { ModelRegistry } from '../providers/model-registry.ts';
import type { EventBus } from '../bus/event-bus.ts';
import type { PublicAgent } from '../wire/agent.ts';
import { announceAgentChange } from './agent-row-cache.ts';
import { getUser } from '../users/users.ts';
import { validateChain, type Chain } from '../chain/chain-schema.ts';
import type { BudgetLimits } from '../chain/run-budget.ts';
import { checkKnowledgeBaseIds } from '../knowledge/knowledge-bases.ts';

/** An `agents` row as stored. */
export type AgentRow = typeof agents.$inferSelect;

/** The editable fields of an agent; absent fields keep their value on update. */
export interface AgentInput {
  handle?: string;
  displayName?: string;
  model?: string | null;
  systemPrompt?: string;
  temperature?: number | null;
  maxOutputTokens?: number | null;
  tools?: string[];
  /** Knowledge bases of the agent's workspace it retrieves from (checked: invalid_request otherwise). */
  knowledgeBaseIds?: string[];
  memoryEnabled?: boolean;
  /** Validated with `validateChain`; null restores the default chain. */
  chain?: unknown;
  budgets?: Partial<BudgetLimits> | null;
  toolApprovals?: string[];
}

/** What agent CRUD needs: storage and the configured models (to check `model`). */
export interface AgentDeps {
  db: Db;
  models: ModelRegistry;
  /** Edits and deletions are announced on it, so every node drops its cached row. */
  bus: EventBus;
  /** Checks `tools` refs against the workspace's MCP servers (absent: refs are not checked). */
  mcp?: { validateToolRefs(workspaceId: string, refs: readonly string[]): Promise<void> };
}

/** The API shape of a stored agent. */
export function toPublicAgent(row: AgentRow): PublicAgent {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    handle: row.handle,
    displayName: row.displayName,
    model: row.model,
    systemPrompt: row.systemPrompt,
    temperature: row.temperature,
    maxOutputTokens: row.maxOutputTokens,
    tools: row.tools,
    knowledgeBaseIds: row.knowledgeBaseIds,
    memoryEnabled: row.memoryEnabled,
    chain: (row.actionChain as Chain | null) ?? null,
    budgets: (row.budgets as Partial<BudgetLimits> | null) ?? null,
    toolApprovals: row.toolApprovals,
    ownerId: row.ownerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * Creates an agent owned by the caller. The handle is claimed in the workspace's shared handle
 * namespace in the same transaction. Throws conflict (handle taken by a user or agent),
 * invalid_request (model names no configured provider, a tool ref names no MCP server or tool,
 * a chain or toolApprovals that do not validate, a knowledge base not of this workspace).
 */
export async function createAgent(
  deps: AgentDeps,
  principal: Principal,
  input: AgentInput & { handle: string },
): Promise<PublicAgent> {
  checkModel(deps.models, input.model);
  if (input.tools?.length) await deps.mcp?.validateToolRefs(principal.workspaceId, input.tools);
  const actionChain = input.chain === undefined || input.chain === null ? null : checkChain(input.chain, input.tools ?? []);
  await checkKnowledgeBaseIds(deps.db, principal.workspaceId, input.knowledgeBaseIds ?? []);
  const id = uuidv7();
  try {
    const row = await deps.db.transaction(async (tx) => {
      await claimHandle(tx, { workspaceId: principal.workspaceId, handle: input.handle, ownerType: 'agent', ownerId: id });
      const [inserted] = await tx
        .insert(agents)
        .values({
          id,
          workspaceId: principal.workspaceId,
          handle: input.handle,
          displayName: input.displayName ?? input.handle,
          model: input.model ?? null,
          systemPrompt: input.systemPrompt ?? '',
          temperature: input.temperature ?? null,
          maxOutputTokens: input.maxOutputTokens ?? null,
          tools: input.tools ?? [],
          knowledgeBaseIds: [...new Set(input.knowledgeBaseIds ?? [])],
          memoryEnabled: input.memoryEnabled ?? false,
          actionChain,
          budgets: input.budgets ?? null,
          toolApprovals: checkApprovals(input.toolApprovals ?? [], input.tools ?? []),
          ownerId: principal.userId,
        })
        .returning();
      return inserted;
    });
    return toPublicAgent(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'Handle is already taken in this workspace');
    throw error;
  }
}

/** The agents of the caller's workspace, by handle. */
export async function listAgents(db: Executor, principal: Principal): Promise<PublicAgent[]> {
  const rows = await db.select().from(agents).where(eq(agents.workspaceId, principal.workspaceId)).orderBy(agents.handle);
  return rows.map(toPublicAgent);
}

/** The agent `agentId` in `workspaceId`; not_found otherwise (also for another workspace's agent). */
export async function getAgentRow(db: Executor, workspaceId: string, agentId: string): Promise<AgentRow> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.workspaceId, workspaceId), eq(agents.id, agentId)));
  if (!row) throw notFound('Agent');
  return row;
}

/** Case-insensitive lookup by handle within a workspace; undefined when no agent has it. */
export async function findAgentByHandle(db: Executor, workspaceId: string, handle: string): Promise<AgentRow | undefined> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.workspaceId, workspaceId), eq(sql`lower(${agents.handle})`, handle.toLowerCase())));
  return row;
}

/**
 * Changes an agent. Allowed to its owner and to workspace owners/admins (else forbidden).
 * A new handle is claimed in the shared namespace (conflict when taken). Throws not_found,
 * invalid_request (model).
 */
export async function updateAgent(
  deps: AgentDeps,
  principal: Principal,
  agentId: string,
  input: AgentInput,
): Promise<PublicAgent> {
  const current = await getAgentRow(deps.db, principal.workspaceId, agentId);
  await checkCanManage(deps.db, principal, current);
  if (input.model !== undefined) checkModel(deps.models, input.model);
  if (input.knowledgeBaseIds !== undefined) {
    await checkKnowledgeBaseIds(deps.db, principal.workspaceId, input.knowledgeBaseIds);
    input = { ...input, knowledgeBaseIds: [...new Set(input.knowledgeBaseIds)] };
  }
  if (input.tools?.length) await deps.mcp?.validateToolRefs(principal.workspaceId, input.tools);
  const { chain, ...fields } = input;
  const changes: Partial<AgentRow> = withoutUndefined(fields);
  if (chain !== undefined) changes.actionChain = chain === null ? null : checkChain(chain, input.tools ?? current.tools);
  else if (input.tools !== undefined && current.actionChain) checkChain(current.actionChain, input.tools);
  if (input.toolApprovals !== undefined || input.tools !== undefined)
    checkApprovals(input.toolApprovals ?? current.toolApprovals, input.tools ?? current.tools);
  try {
    const row = await deps.db.transaction(async (tx) => {
      if (input.handle !== undefined && input.handle.toLowerCase() !== current.handle.toLowerCase()) {
        await tx.delete(handles).where(and(eq(handles.workspaceId, principal.workspaceId), eq(handles.ownerId, agentId)));
        await claimHandle(tx, { workspaceId: principal.workspaceId, handle: input.handle, ownerType: 'agent', ownerId: agentId });
      }
      const [updated] = await tx
        .update(agents)
        .set({ ...changes, updatedAt: new Date() })
        .where(eq(agents.id, agentId))
        .returning();
      return updated;
    });
    await announceAgentChange(deps.bus, agentId);
    return toPublicAgent(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'Handle is already taken in this workspace');
    throw error;
  }
}

/**
 * Deletes an agent, frees its handle and removes it from every conversation. Its past messages
 * stay (they carry the handle). Same permission as update. Throws not_found, forbidden.
 */
export async function deleteAgent(deps: AgentDeps, principal: Principal, agentId: string): Promise<void> {
  const current = await getAgentRow(deps.db, principal.workspaceId, agentId);
  await checkCanManage(deps.db, principal, current);
  await deps.db.transaction(async (tx) => {
    await tx
      .delete(conversationMembers)
      .where(and(eq(conversationMembers.memberId, agentId), eq(conversationMembers.memberType, 'agent')));
    await tx.delete(handles).where(and(eq(handles.workspaceId, principal.workspaceId), eq(handles.ownerId, agentId)));
    await tx.delete(agents).where(eq(agents.id, agentId));
  });
  await announceAgentChange(deps.bus, agentId);
}

function checkModel(models: ModelRegistry, model: string | null | undefined): void {
  if (model === undefined || model === null) return;
  if (!models.isKnown(model)) {
    const configured = models.providerNames.length ? models.providerNames.join(', ') : 'none';
    throw new AppError('invalid_request', `model must be provider/model with a configured provider (configured: ${configured})`, {
      details: [{ path: 'model', message: 'unknown provider' }],
    });
  }
}

/**
 * A declared chain checked (validateChain) and each `use_tool` step's tool among the agent's
 * `tools` (the exact ref or its server's `*` ref). Throws invalid_request.
 */
function checkChain(raw: unknown, tools: readonly string[]): Chain {
  const chain = validateChain(raw);
  chain.steps.forEach((step, index) => {
    if (step.type !== 'use_tool') return;
    if (!isCovered(step.tool, tools)) {
      const path = `chain.steps.${index}.tool`;
      throw new AppError('invalid_request', `Invalid chain: ${path}: ${step.tool} is not one of the agent's tools`, {
        details: [{ path, message: `${step.tool} is not one of the agent's tools` }],
      });
    }
  });
  return chain;
}

/** Each approval ref must be one of `tools` or covered by one (its server's `*`). Throws invalid_request. */
function checkApprovals(approvals: string[], tools: readonly string[]): string[] {
  const uncovered = approvals.filter((ref) => !isCovered(ref, tools));
  if (uncovered.length > 0) {
    throw new AppError('invalid_request', `toolApprovals names tools the agent does not have: ${uncovered.join(', ')}`, {
      details: uncovered.map((ref) => ({ path: 'toolApprovals', ref, message: "not one of the agent's tools" })),
    });
  }
  return approvals;
}

function isCovered(ref: string, tools: readonly string[]): boolean {
  const server = /^mcp:([^/]+)\//.exec(ref)?.[1];
  return tools.includes(ref) || (server !== undefined && tools.includes(`mcp:${server}/*`));
}

async function checkCanManage(db: Executor, principal: Principal, agent: AgentRow): Promise<void> {
  if (agent.ownerId === principal.userId) return;
  const user = await getUser(db, principal.workspaceId, principal.userId);
  if (user.role === 'member') throw new AppError('forbidden', 'Only the agent owner or an admin can change this agent');
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}
