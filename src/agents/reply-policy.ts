/** The facts the reply policy looks at for one posted message and one agent member. */
export interface ReplyPolicyInput {
  conversationKind: 'direct' | 'group';
  message: { sender: { type: 'user' | 'agent'; id: string }; content: string };
  agent: { id: string; handle: string };
  /** The sender of the message's thread root, when the message is a thread reply. */
  threadRootSender?: { type: 'user' | 'agent'; id: string };
}

/** Longest agent-to-agent chain (agent answers an agent's mention) before agents stop answering. */
export const maxAgentChainDepth = 3;

/**
 * Whether `agent` answers `message` (SPEC §6): never its own messages; another agent's message
 * only when it mentions `@handle` (avoids loops); a person's message in a `direct` conversation
 * always; in a `group` when it mentions `@handle` or replies in a thread whose root is the agent's.
 */
export function shouldReply(input: ReplyPolicyInput): boolean {
  const { message, agent } = input;
  if (message.sender.type === 'agent' && message.sender.id === agent.id) return false;
  const mentioned = mentions(message.content, agent.handle);
  if (message.sender.type === 'agent') return mentioned;
  if (input.conversationKind === 'direct') return true;
  if (mentioned) return true;
  return input.threadRootSender?.type === 'agent' && input.threadRootSender.id === agent.id;
}

/**
 * True when `content` mentions `@handle` (case-insensitive) as a whole word: not inside an email
 * address or a longer handle; trailing punctuation is fine (`@bot,` `@bot.`).
 */
export function mentions(content: string, handle: string): boolean {
  const escaped = handle.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(?:^|[^\\w@.-])@${escaped}(?![\\w-]|\\.[\\w-])`, 'i').test(content);
}
