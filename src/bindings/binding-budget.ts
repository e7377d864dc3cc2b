import { sql } from 'drizzle-orm';
import type { EventBus } from '../bus/event-bus.ts';
import type { Executor } from '../db/database.ts';
import { insertAdvice } from './advice.ts';
import { utcDay, type BindingRow } from './bindings.ts';
import { bindings } from './schema.ts';

/**
 * Spends one run of the binding's daily budget (UTC day) atomically. Returns false when today's
 * budget is spent; then, once per day, the owner gets a private notice (an advice of kind
 * `notice`, delivered like advice). A binding without a budget always returns true.
 */
export async function spendBindingBudget(
  deps: { db: Executor; bus: EventBus },
  binding: Pick<BindingRow, 'id' | 'workspaceId' | 'conversationId' | 'userId' | 'agentId' | 'mode'>,
  agentHandle: string,
): Promise<boolean> {
  const today = utcDay();
  const spent = await deps.db.execute(sql`
    update ${bindings}
    set usage_count = case when usage_day = ${today}::date then usage_count + 1 else 1 end, usage_day = ${today}::date
    where id = ${binding.id}::uuid
      and (daily_message_budget is null or usage_day is distinct from ${today}::date or usage_count < daily_message_budget)
    returning daily_message_budget`);
  if (rowsOf(spent).length === 1) return true;
  const noticed = await deps.db.execute(sql`
    update ${bindings} set notice_day = ${today}::date
    where id = ${binding.id}::uuid and notice_day is distinct from ${today}::date
    returning daily_message_budget`);
  const row = rowsOf(noticed)[0] as { daily_message_budget: number } | undefined;
  if (row) {
    await insertAdvice(deps, {
      workspaceId: binding.workspaceId,
      conversationId: binding.conversationId,
      userId: binding.userId,
      agentId: binding.agentId,
      bindingId: binding.id,
      kind: 'notice',
      status: 'ready',
      content: `Your ${binding.mode} binding with @${agentHandle} used its daily budget of ${row.daily_message_budget}; it stays quiet here until tomorrow (UTC).`,
    });
  }
  return false;
}

/** The rows of a raw `execute` result (both drivers return `{rows}`). */
function rowsOf(result: unknown): unknown[] {
  return (result as { rows: unknown[] }).rows;
}
