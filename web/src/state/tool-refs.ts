/**
 * An agent's MCP tool choice as the agent form edits it. Refs are the server's
 * (docs/agents.md, "Tools"): `mcp:<server>/<tool>` names one tool, `mcp:<server>/*` every tool of
 * a server. `tools` is what the agent may call; `approvals` the refs whose calls wait for the
 * requester's approval, each of which must be covered by `tools` (the server refuses otherwise).
 */
export interface ToolChoice {
  tools: string[];
  approvals: string[];
}

/** The ref of one tool, or of every tool of the server with `tool` `*`. */
export const toolRef = (server: string, tool: string) => `mcp:${server}/${tool}`;

/** `mcp:<server>/` of a ref (server names have no "/", tool names may). */
const serverOf = (ref: string) => ref.slice(0, ref.indexOf('/') + 1);

/** Whether `ref` is in `refs`, directly or through its server's `mcp:<server>/*`. */
export function covers(refs: readonly string[], ref: string): boolean {
  return refs.includes(ref) || refs.includes(`${serverOf(ref)}*`);
}

/**
 * Turns `ref` on or off in the choice's `tools`. Turning a ref off also drops the approvals it
 * alone covered; turning a server's `*` on drops its single-tool refs, which it now covers.
 */
export function setTool(choice: ToolChoice, ref: string, on: boolean): ToolChoice {
  const server = serverOf(ref);
  let tools = choice.tools.filter((existing) => existing !== ref);
  if (on && ref.endsWith('/*')) tools = tools.filter((existing) => !existing.startsWith(server));
  if (on) tools = [...tools, ref];
  return { tools, approvals: choice.approvals.filter((approval) => covers(tools, approval)) };
}

/** Turns the approval of `ref` on or off (on only when the agent may call it). */
export function setApproval(choice: ToolChoice, ref: string, on: boolean): ToolChoice {
  let approvals = choice.approvals.filter((existing) => existing !== ref);
  if (on && ref.endsWith('/*')) {
    const server = serverOf(ref);
    approvals = approvals.filter((existing) => !existing.startsWith(server));
  }
  if (on && covers(choice.tools, ref)) approvals = [...approvals, ref];
  return { tools: choice.tools, approvals };
}
