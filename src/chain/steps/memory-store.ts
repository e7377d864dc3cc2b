import type { JSONSchema7 } from '@ai-sdk/provider';
import { saveFacts } from '../../memory/memories.ts';
import type { StepHandler } from '../chain-context.ts';
import { memoryTarget } from './memory-gate.ts';
import type { ChainStep } from '../chain-schema.ts';
import { callModelQuietly } from '../quiet-call.ts';

const factsSchema: JSONSchema7 = {
  type: 'object',
  properties: { facts: { type: 'array', items: { type: 'string' } } },
  required: ['facts'],
  additionalProperties: false,
};

const instruction =
  'Extract durable facts about the user from their last message and your reply (preferences, names, ongoing projects). ' +
  'Answer only with JSON {"facts": ["…"]}: short third-person sentences, [] when there is nothing worth remembering.';

/**
 * `memory_store`: when the agent has memory on, the model extracts durable facts about the
 * requester from the exchange (structured output, `{facts: string[]}`) and new ones are saved for
 * (agent, user). Skipped when memory is off, no person requested the run, or there is no reply yet.
 */
export const memoryStore: StepHandler<Extract<ChainStep, { type: 'memory_store' }>> = async (run, _step, record) => {
  const target = memoryTarget(run);
  if ('skipped' in target) {
    record.output = target;
    return {};
  }
  await run.checkpoint();
  // One user turn holding the exchange, so the prompt ends with a user message on every provider.
  const exchange = [
    {
      senderType: 'user' as const,
      senderId: target.userId,
      senderHandle: run.trigger.sender.handle,
      content: `${run.trigger.content}\n\n[your reply] ${run.reply.text || '(none)'}`,
    },
  ];
  const result = await callModelQuietly(run, record, {
    history: exchange,
    instruction,
    responseFormat: { type: 'json', schema: factsSchema, name: 'facts' },
  });
  const facts = extractFacts(result.text);
  const stored = await saveFacts(
    run.deps.db,
    { workspaceId: run.workspaceId, agentId: run.agent.id, userId: target.userId },
    facts,
    run.trigger.id,
  );
  record.output = { extracted: facts.length, stored };
  return {};
};

function extractFacts(text: string): string[] {
  try {
    const value = JSON.parse(text) as { facts?: unknown };
    return Array.isArray(value.facts) ? value.facts.filter((fact): fact is string => typeof fact === 'string').slice(0, 20) : [];
  } catch {
    return [];
  }
}
