import { z } from 'zod';
import { AppError } from '../errors/app-error.ts';

const stepId = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be lowercase letters, digits, _ or -, at most 40');
/** Where to go after a step: a step `id`, or `"end"` to finish the run. */
const next = z.union([stepId, z.literal('end')]);
const common = { id: stepId.optional(), next: next.optional() };
const toolRef = z.string().min(1).max(200);

/** A policy rule set of `accept` / `refuse`; every rule given must hold for the set to match. */
const gateRules = z
  .object({
    /** Sender handles (case-insensitive). */
    senders: z.array(z.string().min(1).max(64)).min(1).optional(),
    /** A JavaScript regular expression tested on the trigger's content (case-insensitive). */
    pattern: z.string().min(1).max(500).optional(),
    /** A UTC time window, `HH:MM`; `from` after `to` wraps past midnight. */
    hours: z
      .object({ from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/), to: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/) })
      .optional(),
    /** Holds while the agent has started fewer runs than this in the last hour (this one excluded). */
    maxRunsPerHour: z.number().int().min(1).max(100_000).optional(),
  })
  .strict()
  .refine((rules) => Object.keys(rules).length > 0, 'needs at least one rule');

/** One step of a declared chain (SPEC §6). Unknown fields are errors, so typos show at save time. */
export const chainStepSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('memory_load'), ...common }).strict(),
    z.object({ type: z.literal('memory_store'), ...common }).strict(),
    z.object({ type: z.literal('rag'), ...common, limit: z.number().int().min(1).max(50).optional() }).strict(),
    z
      .object({
        type: z.literal('generate'),
        ...common,
        /** Extra instruction appended to the system prompt for this step. */
        instruction: z.string().max(8_000).optional(),
        /** Whether the agent's tools are offered (default true). */
        tools: z.boolean().optional(),
        /** Model rounds at most (a round ends with text or with tool calls to run); default 8. */
        maxRounds: z.number().int().min(1).max(50).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('decide'),
        id: common.id,
        /** What to decide, given to the model with the conversation. */
        question: z.string().min(1).max(4_000),
        options: z
          .array(
            z
              .object({
                value: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 letters, digits, _ or -'),
                description: z.string().max(500).optional(),
                next,
              })
              .strict(),
          )
          .min(2, 'needs at least two options'),
      })
      .strict(),
    z
      .object({
        type: z.literal('use_tool'),
        ...common,
        /** One of the agent's tool refs (or covered by an `mcp:<server>/*` ref), e.g. `mcp:files/read`. */
        tool: toolRef,
        /** Fixed arguments; when absent the model fills them from the conversation. */
        args: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('call_agent'),
        ...common,
        /** Handle of another agent of the workspace. */
        agent: z.string().min(1).max(64),
        /** The sub-question; default: the message being answered. */
        question: z.string().min(1).max(8_000).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('call_human'),
        ...common,
        /** The question, posted as the agent's message; the person's thread reply to it is the answer. */
        question: z.string().min(1).max(4_000),
        /** Handle of the member to ask; default: the person who asked the agent. */
        member: z.string().min(1).max(64).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('accept'),
        ...common,
        when: gateRules,
        /** Text of the reply when the gate stops the run. */
        reply: z.string().max(4_000).optional(),
      })
      .strict(),
    z.object({ type: z.literal('refuse'), ...common, when: gateRules, reply: z.string().max(4_000).optional() }).strict(),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'unknown step type (expected accept, refuse, generate, decide, use_tool, call_agent, call_human, rag, memory_load or memory_store)'
        : undefined,
  },
);

/** A declared chain: steps run in order from the first; `next` and `decide` options jump by id. */
export const chainSchema = z.object({ steps: z.array(chainStepSchema).min(1).max(50) }).strict();

export type ChainStep = z.infer<typeof chainStepSchema>;
export type Chain = z.infer<typeof chainSchema>;
export type ChainStepType = ChainStep['type'];

/** The chain of an agent that declares none (SPEC §6). */
export const defaultChain: Chain = {
  steps: [{ type: 'memory_load' }, { type: 'rag' }, { type: 'generate' }, { type: 'memory_store' }],
};

/**
 * Parses and checks a declared chain: the shape of every step (unknown type, missing or unknown
 * option), unique ids, `next` and `decide` targets that exist, a valid `pattern` regex, no cycle
 * (a step can never run twice in one run) and no step that can never run. Returns the chain.
 * Throws invalid_request with `details: [{path, message}]`, paths starting at `chain`.
 */
export function validateChain(raw: unknown): Chain {
  const parsed = chainSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: ['chain', ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    throw invalidChain(details);
  }
  const chain = parsed.data;
  const problems: Array<{ path: string; message: string }> = [];
  const indexById = new Map<string, number>();
  chain.steps.forEach((step, index) => {
    if (step.id === undefined) return;
    if (indexById.has(step.id)) problems.push({ path: `chain.steps.${index}.id`, message: `duplicate step id "${step.id}"` });
    indexById.set(step.id, index);
  });
  chain.steps.forEach((step, index) => {
    for (const target of targetsOf(step)) {
      if (target !== 'end' && !indexById.has(target))
        problems.push({ path: `chain.steps.${index}`, message: `next step "${target}" does not exist` });
    }
    if ((step.type === 'accept' || step.type === 'refuse') && step.when.pattern !== undefined) {
      try {
        new RegExp(step.when.pattern, 'i');
      } catch {
        problems.push({ path: `chain.steps.${index}.when.pattern`, message: 'not a valid regular expression' });
      }
    }
  });
  if (problems.length > 0) throw invalidChain(problems);
  const cycle = findCycle(chain, indexById);
  if (cycle) throw invalidChain([{ path: 'chain.steps', message: `cycle: ${cycle.join(' → ')} (a step may run once per run)` }]);
  const reachable = reachableSteps(chain, indexById);
  const unreachable = chain.steps.map((_, index) => index).filter((index) => !reachable.has(index));
  if (unreachable.length > 0) {
    throw invalidChain(
      unreachable.map((index) => ({ path: `chain.steps.${index}`, message: `step ${labelOf(chain, index)} can never run` })),
    );
  }
  return chain;
}

/**
 * The step indexes that may follow step `index`: its `next` (or the following step), or for
 * `decide` each option's target. An index equal to `steps.length` means the end.
 */
export function successorsOf(chain: Chain, index: number, indexById: ReadonlyMap<string, number>): number[] {
  const step = chain.steps[index]!;
  const targets = targetsOf(step);
  if (targets.length === 0) return [index + 1];
  return targets.map((target) => (target === 'end' ? chain.steps.length : indexById.get(target)!));
}

/** Step ids to their index. */
export function indexStepIds(chain: Chain): Map<string, number> {
  const indexById = new Map<string, number>();
  chain.steps.forEach((step, index) => {
    if (step.id !== undefined) indexById.set(step.id, index);
  });
  return indexById;
}

function targetsOf(step: ChainStep): string[] {
  if (step.type === 'decide') return step.options.map((option) => option.next);
  return step.next === undefined ? [] : [step.next];
}

function findCycle(chain: Chain, indexById: ReadonlyMap<string, number>): string[] | undefined {
  const state = new Map<number, 'open' | 'done'>();
  const path: number[] = [];
  const visit = (index: number): number[] | undefined => {
    if (index >= chain.steps.length || state.get(index) === 'done') return undefined;
    if (state.get(index) === 'open') return [...path.slice(path.indexOf(index)), index];
    state.set(index, 'open');
    path.push(index);
    for (const successor of successorsOf(chain, index, indexById)) {
      const found = visit(successor);
      if (found) return found;
    }
    path.pop();
    state.set(index, 'done');
    return undefined;
  };
  const found = visit(0);
  return found?.map((index) => labelOf(chain, index));
}

function reachableSteps(chain: Chain, indexById: ReadonlyMap<string, number>): Set<number> {
  const seen = new Set<number>();
  const pending = [0];
  while (pending.length > 0) {
    const index = pending.pop()!;
    if (index >= chain.steps.length || seen.has(index)) continue;
    seen.add(index);
    pending.push(...successorsOf(chain, index, indexById));
  }
  return seen;
}

function labelOf(chain: Chain, index: number): string {
  const step = chain.steps[index]!;
  return step.id ? `"${step.id}"` : `#${index} (${step.type})`;
}

function invalidChain(details: Array<{ path: string; message: string }>): AppError {
  return new AppError(
    'invalid_request',
    `Invalid chain: ${details.map((detail) => `${detail.path}: ${detail.message}`).join('; ')}`,
    {
      details,
    },
  );
}
