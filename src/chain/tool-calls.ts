import type { LanguageModelV4FunctionTool, LanguageModelV4ToolResultPart } from '@ai-sdk/provider';
import { AppError } from '../errors/app-error.ts';
import { modelSafeName, parseToolRef, type AgentTool } from '../mcp/agent-tools.ts';
import type { ToolCallPart } from '../messages/message-shape.ts';
import type { ModelToolCall } from '../providers/model-stream.ts';
import type { ChainRun } from './chain-context.ts';
import { hashArgs, RunPaused } from './run-pause.ts';

/** The longest tool result text kept in a part and given back to the model (characters). */
const maxResultChars = 20_000;

/**
 * The agent's tools, resolved once per run (every `tools` ref; a ref that cannot be resolved, e.g.
 * its server is down, is reported in `errors` and the others still resolve).
 */
export function agentTools(run: ChainRun): Promise<{ tools: AgentTool[]; errors: Array<{ ref: string; message: string }> }> {
  if (run.agent.tools.length === 0 || !run.deps.mcp) return Promise.resolve({ tools: [], errors: [] });
  run.state.tools ??= run.deps.mcp.resolveAgentTools(run.workspaceId, run.agent.tools);
  return run.state.tools;
}

/** The tools as the model sees them (AI SDK function tools). */
export function toModelTools(tools: readonly AgentTool[]): LanguageModelV4FunctionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema as LanguageModelV4FunctionTool['inputSchema'],
  }));
}

/**
 * Runs one tool call the model (or a `use_tool` step) asked for, shown live as a `tool-call` part
 * of the reply (`running`, then `done` or `error`). Counts against the run's tool-call budget
 * (throws BudgetExceeded). A tool that fails, is unknown, gets unparsable arguments or whose
 * server is down gives the model an error result rather than failing the run; an abort rethrows
 * the signal's reason. A tool the agent's `toolApprovals` name throws RunPaused (part
 * `awaiting-approval`) unless the run resumes with a decision for this call and these exact
 * arguments: approved runs it, denied gives the model an `execution-denied` result (part `denied`).
 * Returns the result for the prompt and the part as it ended.
 */
export async function executeToolCall(
  run: ChainRun,
  tools: readonly AgentTool[],
  call: ModelToolCall,
): Promise<{ result: LanguageModelV4ToolResultPart; part: ToolCallPart }> {
  const tool = tools.find((candidate) => candidate.name === call.toolName);
  const args = parseArgs(call.input);
  const part: ToolCallPart = {
    type: 'tool-call',
    toolCallId: call.toolCallId,
    name: call.toolName,
    ref: tool?.ref ?? null,
    args: args ?? {},
    state: 'running',
  };
  const index = run.reply.parts.length;
  const show = () => run.reply.putPart(index, { ...part });
  const fail = (message: string) => {
    part.state = 'error';
    part.error = message;
    show();
    return { result: toolResult(call, { type: 'error-text', value: message }), part };
  };
  if (tool && args && needsApproval(run.agent.toolApprovals, tool)) {
    const argsHash = hashArgs(args);
    const answer = run.approval?.toolCallId === call.toolCallId && run.approval.argsHash === argsHash ? run.approval : undefined;
    if (!answer) {
      part.state = 'awaiting-approval';
      show();
      throw new RunPaused({
        approval: { toolCallId: call.toolCallId, toolName: call.toolName, toolRef: tool.ref, args, argsHash },
      });
    }
    if (answer.decision === 'deny') {
      part.state = 'denied';
      show();
      return { result: toolResult(call, { type: 'execution-denied', reason: 'The person denied this call' }), part };
    }
  }
  run.budget.spendToolCall();
  show();
  if (!tool) return fail(`Unknown tool "${call.toolName}"`);
  if (!args) return fail('The arguments are not a JSON object');
  try {
    const outcome = await tool.call(args, { signal: run.signal });
    const text = outcome.text.length > maxResultChars ? `${outcome.text.slice(0, maxResultChars)}…` : outcome.text;
    part.state = outcome.isError ? 'error' : 'done';
    part.result = { text, isError: outcome.isError };
    show();
    return { result: toolResult(call, { type: outcome.isError ? 'error-text' : 'text', value: text }), part };
  } catch (error) {
    if (run.signal.aborted) throw run.signal.reason;
    return fail(AppError.isInstance(error) ? error.message : 'The tool call failed');
  }
}

/** Whether `approvalRefs` (an agent's `toolApprovals`) cover `tool`: its ref, its server's `*`, or its exact `mcp:<server>/<tool>`. */
function needsApproval(approvalRefs: readonly string[], tool: AgentTool): boolean {
  const server = parseToolRef(tool.ref)?.server;
  return approvalRefs.some((ref) => {
    if (ref === tool.ref) return true;
    const parsed = parseToolRef(ref);
    if (!parsed || parsed.server !== server) return false;
    return parsed.tool === '*' || modelSafeName(parsed.server, parsed.tool, new Set()) === tool.name;
  });
}

function toolResult(call: ModelToolCall, output: LanguageModelV4ToolResultPart['output']): LanguageModelV4ToolResultPart {
  return { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output };
}

function parseArgs(input: string): Record<string, unknown> | undefined {
  if (input.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(input);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
