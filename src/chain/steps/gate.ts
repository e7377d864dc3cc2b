import { and, count, eq, gt, ne } from 'drizzle-orm';
import { runs } from '../../db/schema.ts';
import type { ChainRun, StepHandler, StepResult } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import type { RunStep } from '../run-step.ts';

type GateStep = Extract<ChainStep, { type: 'accept' | 'refuse' }>;

const defaultRefusal = "Sorry, I can't help with this here.";

/** `accept`: the run goes on only when every rule of `when` holds; otherwise it ends with `reply`. */
export const acceptGate: StepHandler<Extract<ChainStep, { type: 'accept' }>> = (run, step, record) =>
  gate(run, step, record, (matched) => !matched);

/** `refuse`: the run ends with `reply` when every rule of `when` holds; otherwise it goes on. */
export const refuseGate: StepHandler<Extract<ChainStep, { type: 'refuse' }>> = (run, step, record) =>
  gate(run, step, record, (matched) => matched);

async function gate(run: ChainRun, step: GateStep, record: RunStep, refuses: (matched: boolean) => boolean): Promise<StepResult> {
  const failed = await failedRules(run, step);
  const matched = failed.length === 0;
  record.input = { rules: step.when };
  if (!refuses(matched)) {
    record.output = { decision: 'accepted', ...(matched ? {} : { unmet: failed }) };
    return { next: step.next };
  }
  const reason = matched ? 'every rule matched' : failed.join('; ');
  record.output = { decision: 'refused', reason };
  run.reply.pushText(step.reply ?? defaultRefusal);
  return { stop: { status: 'complete', error: null } };
}

/** The rules of `step.when` that do not hold, each as a readable sentence. */
async function failedRules(run: ChainRun, step: GateStep): Promise<string[]> {
  const { senders, pattern, hours, maxRunsPerHour } = step.when;
  const failed: string[] = [];
  const sender = run.trigger.sender.handle.toLowerCase();
  if (senders && !senders.some((handle) => handle.toLowerCase() === sender)) failed.push(`sender @${sender} is not listed`);
  if (pattern !== undefined && !new RegExp(pattern, 'i').test(run.trigger.content))
    failed.push('the message does not match the pattern');
  if (hours && !isWithin(hours, new Date())) failed.push(`outside ${hours.from}–${hours.to} UTC`);
  if (maxRunsPerHour !== undefined) {
    await run.checkpoint();
    const recent = await runsInLastHour(run);
    if (recent >= maxRunsPerHour) failed.push(`the agent already ran ${recent} times in the last hour (max ${maxRunsPerHour})`);
  }
  return failed;
}

function isWithin(hours: { from: string; to: string }, now: Date): boolean {
  const minutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  const toMinutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
  const from = toMinutes(hours.from);
  const to = toMinutes(hours.to);
  return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
}

async function runsInLastHour(run: ChainRun): Promise<number> {
  const since = new Date(Date.now() - 3_600_000);
  const [row] = await run.deps.db
    .select({ total: count() })
    .from(runs)
    .where(
      and(
        eq(runs.workspaceId, run.workspaceId),
        eq(runs.agentId, run.agent.id),
        gt(runs.createdAt, since),
        run.runId ? ne(runs.id, run.runId) : undefined,
      ),
    );
  return Number(row?.total ?? 0);
}
