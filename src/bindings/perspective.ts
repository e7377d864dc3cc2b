import type { AgentRow } from '../agents/agents.ts';
import type { ReplyPerspective } from '../chain/build-context.ts';

/** The person a binding's agent writes for. */
export interface BoundPerson {
  id: string;
  handle: string;
  displayName: string;
}

/**
 * The context of a binding's run, from the person's point of view: the agent's system prompt, then
 * who it writes for and how its text is used (posted as their assistant, or suggested privately),
 * then the person's own `instructions`. The person's messages (and those sent for them) are the
 * model's `assistant` turns, everyone else's are `user` turns prefixed with their handle. An advice
 * run ends with a closing turn asking for the next message, so it works whoever spoke last.
 */
export function bindingPerspective(input: {
  agent: Pick<AgentRow, 'systemPrompt'>;
  person: BoundPerson;
  mode: 'autoreply' | 'advice';
  instructions: string;
}): ReplyPerspective {
  const { person } = input;
  const name = `${person.displayName} (@${person.handle})`;
  const sections = [
    input.agent.systemPrompt.trim(),
    `You write on behalf of ${name} in a conversation with other people. In the messages, the assistant turns are what ${person.displayName} wrote or what was sent for them; the user turns are the other participants, each prefixed with their handle.`,
    input.mode === 'autoreply'
      ? `Your reply is posted in the conversation at once, shown as written by ${person.displayName}'s assistant. Answer helpfully and briefly, and never commit ${person.displayName} to anything they have not agreed to.`
      : `Your reply is a private suggestion that only ${person.displayName} sees: write the message they could send next, in their voice, and nothing else.`,
    input.instructions.trim() ? `Instructions from ${person.displayName}:\n${input.instructions.trim()}` : '',
  ];
  return {
    userId: person.id,
    system: sections.filter((section) => section !== '').join('\n\n'),
    closingTurn: input.mode === 'advice' ? `(Suggest the next message for @${person.handle}.)` : undefined,
  };
}
