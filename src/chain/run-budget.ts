/** A run's limits (config defaults, each overridable per agent in its `budgets`). */
export interface BudgetLimits {
  /** Chain steps executed plus extra model rounds inside `generate`. */
  maxSteps: number;
  maxToolCalls: number;
  /** Input + output tokens of every model call of the run (sub-agents included). */
  maxTokens: number;
}

/** Thrown when a run reaches one of its limits; `message` is the readable reason the run ends with. */
export class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
}

/**
 * What a run has spent against its limits. One instance per run, shared with the sub-runs of
 * `call_agent`, so a chain of agents cannot spend more than the run that started it.
 */
export class RunBudget {
  readonly limits: BudgetLimits;
  steps = 0;
  toolCalls = 0;
  tokens = 0;

  constructor(limits: BudgetLimits) {
    this.limits = limits;
  }

  /** Counts one step (a chain step or an extra model round). Throws BudgetExceeded past `maxSteps`. */
  spendStep(): void {
    if (this.steps >= this.limits.maxSteps)
      throw new BudgetExceeded(`Stopped: the run reached its budget of ${this.limits.maxSteps} steps`);
    this.steps++;
  }

  /** Counts one tool call. Throws BudgetExceeded past `maxToolCalls`. */
  spendToolCall(): void {
    if (this.toolCalls >= this.limits.maxToolCalls)
      throw new BudgetExceeded(`Stopped: the run reached its budget of ${this.limits.maxToolCalls} tool calls`);
    this.toolCalls++;
  }

  /** Adds a model call's tokens. */
  addTokens(usage: { inputTokens: number; outputTokens: number }): void {
    this.tokens += usage.inputTokens + usage.outputTokens;
  }

  /** Throws BudgetExceeded when the tokens spent reached `maxTokens` (checked before each model call and after it). */
  checkTokens(): void {
    if (this.tokens >= this.limits.maxTokens)
      throw new BudgetExceeded(`Stopped: the run used ${this.tokens} tokens, over its budget of ${this.limits.maxTokens}`);
  }
}

/** The limits for an agent: its own `budgets` over the config defaults. */
export function budgetLimitsFor(defaults: BudgetLimits, agentBudgets: Partial<BudgetLimits> | null | undefined): BudgetLimits {
  return { ...defaults, ...Object.fromEntries(Object.entries(agentBudgets ?? {}).filter(([, value]) => value !== undefined)) };
}
