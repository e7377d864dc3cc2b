/**
 * The public shape of an agent (SPEC §3, docs/agents.md), shared by the server and the web client
 * (web/src/client). Dependency-free: imports nothing outside src/wire. Times are ISO 8601 strings.
 */

/** A declared action chain (docs/agents.md, "Chains"); the server validates its steps in full. */
export interface AgentChain {
  steps: unknown[];
}

/** Per-agent run limits over the server's defaults (docs/agents.md, "Budgets"). */
export interface AgentBudgets {
  maxSteps?: number;
  maxToolCalls?: number;
  /** Input + output tokens of every model call of a run. */
  maxTokens?: number;
}

/** An agent as the API shows it. `model` null means CHORUS_DEFAULT_MODEL. */
export interface PublicAgent {
  id: string;
  workspaceId: string;
  handle: string;
  displayName: string;
  model: string | null;
  systemPrompt: string;
  /** null: the provider's default. */
  temperature: number | null;
  maxOutputTokens: number | null;
  /** MCP tool refs: `mcp:<server>/<tool>` or `mcp:<server>/*`. */
  tools: string[];
  knowledgeBaseIds: string[];
  memoryEnabled: boolean;
  /** The declared action chain, null for the default chain. */
  chain: AgentChain | null;
  budgets: AgentBudgets | null;
  /** Tool refs whose calls pause the run for the requester's approval (each covered by `tools`). */
  toolApprovals: string[];
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}
