import { AppError } from '../../errors/app-error.ts';
import { modelSafeName, parseToolRef, type AgentTool } from '../../mcp/agent-tools.ts';
import type { StepHandler } from '../chain-context.ts';
import type { ChainStep } from '../chain-schema.ts';
import { callModelQuietly } from '../quiet-call.ts';
import { agentTools, executeToolCall, toModelTools } from '../tool-calls.ts';

/**
 * `use_tool`: calls one MCP tool, with the step's fixed `args` or, without them, arguments the
 * model fills from the conversation (a forced tool call). The call shows as a `tool-call` part; its
 * result is given to later model calls. A tool that fails is recorded as the step's error and the
 * run goes on (later steps see the failure); a tool that is not available fails the run.
 */
export const useTool: StepHandler<Extract<ChainStep, { type: 'use_tool' }>> = async (run, step, record) => {
  record.input = { tool: step.tool, ...(step.args ? { args: step.args } : {}) };
  const resolved = await agentTools(run);
  const tool = findTool(resolved.tools, step.tool);
  if (!tool) {
    const reason = resolved.errors.find((error) => error.ref === step.tool || step.tool.startsWith(error.ref.replace(/\*$/, '')));
    throw new AppError('provider_error', `Tool ${step.tool} is not available${reason ? `: ${reason.message}` : ''}`);
  }
  await run.checkpoint();
  let input: string;
  if (step.args) input = JSON.stringify(step.args);
  else {
    const result = await callModelQuietly(run, record, {
      history: await run.history,
      instruction: `Call the tool ${tool.name} with the arguments this conversation calls for.`,
      tools: toModelTools([tool]),
      toolChoice: { type: 'tool', toolName: tool.name },
    });
    const call = result.toolCalls[0];
    if (!call) throw new AppError('provider_error', `The model did not fill the arguments of ${step.tool}`);
    input = call.input;
  }
  const { part } = await executeToolCall(run, [tool], { toolCallId: `use_tool-${run.steps.length}`, toolName: tool.name, input });
  record.output = { args: part.args, state: part.state, result: part.result ?? null };
  if (part.state === 'error') record.error = part.error ?? part.result?.text ?? 'The tool failed';
  run.state.notes.push(
    `Tool ${tool.name} ${part.state === 'error' ? 'failed' : 'returned'}: ${part.result?.text ?? part.error ?? ''}`,
  );
  return { next: step.next };
};

/** The agent's tool named by `ref`: resolved from that exact ref, or from its server's `*` ref. */
function findTool(tools: readonly AgentTool[], ref: string): AgentTool | undefined {
  const exact = tools.find((tool) => tool.ref === ref);
  if (exact) return exact;
  const parsed = parseToolRef(ref);
  if (!parsed || parsed.tool === '*') return undefined;
  const name = modelSafeName(parsed.server, parsed.tool, new Set());
  return tools.find((tool) => tool.ref === `mcp:${parsed.server}/*` && tool.name === name);
}
