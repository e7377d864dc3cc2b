import { AppError } from '../../errors/app-error.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import { callModelQuietly, parseJsonObject } from '../quiet-call.ts';

/**
 * `decide`: the model picks one of `options` for `question`, over the conversation, through
 * structured output (a JSON schema whose `choice` is an enum of the option values); the run goes
 * on at that option's `next`. A reply that names no option fails the step (and the run).
 */
export const decide: StepHandler<Extract<ChainStep, { type: 'decide' }>> = async (run, step, record) => {
  const values = step.options.map((option) => option.value);
  record.input = { question: step.question, options: values };
  const history = await run.history;
  await run.checkpoint();
  const listed = step.options
    .map((option) => `- ${option.value}${option.description ? `: ${option.description}` : ''}`)
    .join('\n');
  const result = await callModelQuietly(run, record, {
    history,
    instruction: `Decide: ${step.question}\nOptions:\n${listed}\nAnswer only with JSON {"choice": "<one option>"}.`,
    responseFormat: {
      type: 'json',
      name: 'decision',
      schema: {
        type: 'object',
        properties: { choice: { type: 'string', enum: values } },
        required: ['choice'],
        additionalProperties: false,
      },
    },
  });
  const parsed = parseJsonObject(result.text)?.choice;
  const choice =
    typeof parsed === 'string' && values.includes(parsed) ? parsed : values.find((value) => result.text.trim() === value);
  if (choice === undefined) {
    throw new AppError('provider_error', `The model chose none of the options (${values.join(', ')}) for: ${step.question}`);
  }
  const option = step.options.find((candidate) => candidate.value === choice)!;
  record.output = { choice, next: option.next };
  run.state.notes.push(`Decision on "${step.question}": ${choice}`);
  return { next: option.next };
};
