import { api, createGroup, registerUsers, runPool, startChorus } from '../lib/chorus.ts';
import { Loadgen, type LoadgenResult } from '../lib/loadgen.ts';
import { writePlan, type Plan } from '../lib/plan.ts';
import { freePort } from '../lib/server-process.ts';

/** Shape of the token-streaming scenario (issue 4). */
export interface StreamOptions {
  generations: number;
  viewersPerConversation: number;
  users: number;
  tokens: number;
  tokensPerSecond: number;
  /** Sends are spread evenly over this many seconds. */
  staggerSeconds: number;
}

/**
 * The generator's `stream` result, the unloaded send → provider probes and set-up facts. `coldProbe`
 * is the first sends after start-up (V8 has not yet optimised the code paths, PGlite's WASM
 * included); `probe` is the same server unloaded again after the generations, the steady state.
 */
export interface StreamResult {
  setupMs: number;
  connected: number;
  coldProbe: LoadgenResult;
  probe: LoadgenResult;
  result: LoadgenResult;
}

const agentHandle = 'bench-agent';

/**
 * Runs `generations` concurrent agent replies streamed from the load generator's OpenAI Chat
 * Completions stand-in (`tokensPerSecond`, `tokens` each) into as many group conversations, each
 * watched by `viewersPerConversation` WebSocket connections. Users are shared: user u belongs to
 * generations/users conversations and holds `viewersPerConversation` connections, so every
 * conversation has exactly that many viewers. Each user message mentions the agent, which
 * triggers the reply. Measures delivered `message.delta` frames/s, provider chunk → viewer frame
 * latency per token, user send → provider request latency, server CPU and peak RSS.
 */
export async function runStream(options: StreamOptions): Promise<StreamResult> {
  const started = Date.now();
  const providerPort = await freePort();
  const server = await startChorus(0, {
    OPENAI_API_KEY: 'bench-key',
    OPENAI_BASE_URL: `http://127.0.0.1:${providerPort}/v1`,
    CHORUS_DEFAULT_MODEL: 'openai/bench',
  });
  let loadgen: Loadgen | undefined;
  try {
    const users = await registerUsers(server.baseUrl, options.users);
    const agent = await api<{ id: string }>(server.baseUrl, 'POST', '/agents', users[0]!.token, {
      handle: agentHandle,
      displayName: 'Bench agent',
      model: 'openai/bench',
      systemPrompt: 'You are a benchmark stand-in.',
    });
    const perUser = Math.ceil(options.generations / options.users);
    const conversationIds: string[] = new Array(options.generations);
    await runPool([...conversationIds.keys()], 4, async (index) => {
      const owner = users[Math.floor(index / perUser)]!;
      conversationIds[index] = await createGroup(server.baseUrl, owner, [{ type: 'agent', id: agent.id }], `stream ${index}`);
    });
    const plan: Plan = { rooms: conversationIds, connections: [], publishers: [] };
    users.forEach((user, u) => {
      for (let viewer = 0; viewer < options.viewersPerConversation; viewer++)
        plan.connections.push({ room: u * perUser, token: user.token });
    });
    conversationIds.forEach((_id, index) => {
      plan.publishers.push({ connection: Math.floor(index / perUser) * options.viewersPerConversation, room: index });
    });
    loadgen = await Loadgen.start({
      proto: 'chorus',
      port: Number(new URL(server.baseUrl).port),
      path: '/api/v1/ws',
      planFile: writePlan(plan),
      serverPid: server.pid,
      core: 1,
      providerPort,
      tokens: options.tokens,
      tokensPerSecond: options.tokensPerSecond,
    });
    const connect = await loadgen.command('connect 200 60');
    const setupMs = Date.now() - started;
    // Unloaded, right after start-up: five sends one at a time; those replies finish before the load.
    const coldProbe = await loadgen.command(`probe 5 @${agentHandle}`);
    await loadgen.command('settle 1 20');
    const timeoutSeconds = options.staggerSeconds + options.tokens / options.tokensPerSecond + 60;
    const result = await loadgen.command(
      `stream ${options.staggerSeconds} ${timeoutSeconds} @${agentHandle} ${options.viewersPerConversation}`,
    );
    // Unloaded again once every generation has finished: 21 sends one at a time.
    await loadgen.command('settle 1 20');
    const probe = await loadgen.command(`probe 21 @${agentHandle}`);
    process.stderr.write(
      `  chorus: ${result.deltasPerSec} deltas/s, token p99 ${result.tokenP99Ms} ms, send→provider p50 ${probe.sendToProviderP50Ms} ms unloaded (${coldProbe.sendToProviderP50Ms} ms right after start), ${result.sendToProviderP50Ms} ms loaded\n`,
    );
    return { setupMs, connected: Number(connect.ready), coldProbe, probe, result };
  } finally {
    await loadgen?.stop();
    await server.stop();
  }
}
