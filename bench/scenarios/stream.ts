import path from 'node:path';
import { api, createGroup, registerUsers, runPool, startChorus } from '../lib/chorus.ts';
import { Loadgen, type LoadgenResult } from '../lib/loadgen.ts';
import { loopDelayReader, type LoopDelayReader } from '../lib/loop-delay.ts';
import { threadCpuMs } from '../lib/machine-load.ts';
import { writePlan, type Plan } from '../lib/plan.ts';
import { freePort } from '../../scripts/free-port.ts';
import { listeningLine, startPinnedNode, type ServerProcess } from '../lib/server-process.ts';

/** Shape of the token-streaming scenario (issues 4 and 11). */
export interface StreamOptions {
  /** The most concurrent generations a step may ask for (conversations set up). */
  maxGenerations: number;
  /** Generations of the first step; the search doubles or bisects from there. */
  startGenerations: number;
  maxSteps: number;
  /** A step passes when p99 chunk → viewer is under this and every token and `message.done` arrived. */
  p99LimitMs: number;
  viewersPerConversation: number;
  /** Each user holds `viewersPerConversation` connections and owns this many conversations. */
  conversationsPerUser: number;
  tokens: number;
  tokensPerSecond: number;
  /** Sends are spread evenly over this many seconds. */
  staggerSeconds: number;
}

/** Stream targets: Chorus (PGlite) and the plain Node relay (bench/servers/relay-server.ts). */
export type StreamTarget = 'chorus' | 'relay';

/**
 * One target's search. Each step is the generator's `stream` result plus `loopP99Ms` (the server's
 * event-loop p99 over the step), `cpuUsPerChunk` (server CPU over the step / provider chunks) and
 * `cpuUsPerChunkByThread` (the same per thread group, `threadCpuMs`; over the step and its drain).
 * `best` is the passing step with the most generations. `coldProbe` (the first sends after
 * start-up) and `probe` (unloaded again after the search) time send → provider; Chorus only.
 */
export interface StreamResult {
  target: StreamTarget;
  setupMs: number;
  connected: number;
  best: LoadgenResult | null;
  steps: LoadgenResult[];
  coldProbe?: LoadgenResult;
  probe?: LoadgenResult;
}

const agentHandle = 'bench-agent';

/** A step passes when p99 is under the bound and every token and every `message.done` arrived. */
function streamStepPasses(step: LoadgenResult, generations: number, options: StreamOptions): boolean {
  const viewers = generations * options.viewersPerConversation;
  return (
    Number(step.tokenP99Ms) < options.p99LimitMs &&
    Number(step.tokens) >= 0.99 * viewers * options.tokens &&
    Number(step.done) >= viewers
  );
}

/**
 * Sets up `maxGenerations` conversations on `target`, each watched by `viewersPerConversation`
 * WebSocket connections, with the load generator's OpenAI Chat Completions stand-in as the model
 * provider, then searches for the most concurrent generations whose p99 provider chunk → viewer
 * frame latency stays under the bound, after an unreported warm-up step of half
 * `startGenerations`: double from `startGenerations` until a step fails (or the maximum is
 * reached), then bisect until the bracket is within 15 % or `maxSteps` ran. Each
 * generation streams `tokens` chunks at `tokensPerSecond`; sends are spread over `staggerSeconds`.
 * For Chorus, users and an agent are created through the API and every user message mentions the
 * agent; for the relay a connection's token names its viewer group.
 */
export async function runStream(target: StreamTarget, options: StreamOptions): Promise<StreamResult> {
  const started = Date.now();
  const providerPort = await freePort();
  const users = Math.ceil(options.maxGenerations / options.conversationsPerUser);
  let server: ServerProcess;
  let conversationIds: string[];
  let tokens: string[];
  let loopDelay: LoopDelayReader;
  if (target === 'chorus') {
    const chorus = await startChorus(0, {
      OPENAI_API_KEY: 'bench-key',
      OPENAI_BASE_URL: `http://127.0.0.1:${providerPort}/v1`,
      CHORUS_DEFAULT_MODEL: 'openai/bench',
    });
    server = chorus;
    loopDelay = loopDelayReader(chorus.baseUrl, 'chorus');
    try {
      const accounts = await registerUsers(chorus.baseUrl, users);
      const agent = await api<{ id: string }>(chorus.baseUrl, 'POST', '/agents', accounts[0]!.token, {
        handle: agentHandle,
        displayName: 'Bench agent',
        model: 'openai/bench',
        systemPrompt: 'You are a benchmark stand-in.',
      });
      conversationIds = new Array<string>(options.maxGenerations);
      await runPool([...conversationIds.keys()], 4, async (index) => {
        const owner = accounts[Math.floor(index / options.conversationsPerUser)]!;
        conversationIds[index] = await createGroup(chorus.baseUrl, owner, [{ type: 'agent', id: agent.id }], `stream ${index}`);
      });
      tokens = accounts.map((account) => account.token);
    } catch (error) {
      await chorus.stop();
      throw error;
    }
  } else {
    server = await startPinnedNode({
      core: 0,
      script: path.join(import.meta.dirname, '..', 'servers', 'relay-server.ts'),
      args: [`http://127.0.0.1:${providerPort}/v1`],
      isReady: listeningLine,
    });
    loopDelay = loopDelayReader(`http://127.0.0.1:${server.port}`, 'baseline');
    conversationIds = Array.from({ length: options.maxGenerations }, (_, index) => `c${index}`);
    tokens = Array.from({ length: users }, (_, index) => `viewer-group-${index}`);
  }
  let loadgen: Loadgen | undefined;
  try {
    // User u's connections watch conversations u·perUser … (u+1)·perUser − 1; publisher i sends into conversation i.
    const plan: Plan = { rooms: conversationIds, connections: [], publishers: [] };
    tokens.forEach((token, u) => {
      for (let viewer = 0; viewer < options.viewersPerConversation; viewer++)
        plan.connections.push({ room: u * options.conversationsPerUser, token });
    });
    conversationIds.forEach((_id, index) => {
      const connection = Math.floor(index / options.conversationsPerUser) * options.viewersPerConversation;
      plan.publishers.push({ connection, room: index });
    });
    loadgen = await Loadgen.start({
      proto: 'chorus',
      port: server.port,
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
    const coldProbe = target === 'chorus' ? await loadgen.command(`probe 5 @${agentHandle}`) : undefined;
    await loadgen.command('settle 1 20');
    const timeoutSeconds = options.staggerSeconds + options.tokens / options.tokensPerSecond + 30;
    // Warm-up (JIT, the first runs' lazy loads, buffers) with half the first step; not reported, as in
    // the fan-out scenario. Without it the first step met a cold server and, failing, capped the search.
    const warmUp = Math.max(1, Math.floor(Math.min(options.startGenerations, options.maxGenerations) / 2));
    await loadgen.command(
      `stream ${options.staggerSeconds} ${timeoutSeconds} @${agentHandle} ${options.viewersPerConversation} ${warmUp}`,
    );
    await loadgen.command('settle 1 20');
    const steps: LoadgenResult[] = [];
    let best: LoadgenResult | null = null;
    let failed = Infinity;
    let generations = Math.min(options.startGenerations, options.maxGenerations);
    for (let step = 0; step < options.maxSteps; step++) {
      await loopDelay();
      const threadsBefore = threadCpuMs(server.pid);
      const result = await loadgen.command(
        `stream ${options.staggerSeconds} ${timeoutSeconds} @${agentHandle} ${options.viewersPerConversation} ${generations}`,
      );
      result.loopP99Ms = (await loopDelay()) ?? '';
      const chunks = Math.max(1, Number(result.providerChunks));
      result.cpuUsPerChunk = Math.round((Number(result.serverCpuMs) * 1000) / chunks);
      result.cpuUsPerChunkByThread = [...threadCpuMs(server.pid)]
        .map(([group, ms]) => `${group} ${Math.round(((ms - (threadsBefore.get(group) ?? 0)) * 1000) / chunks)}`)
        .join(', ');
      await loadgen.command('settle 1 20');
      steps.push(result);
      const passed = streamStepPasses(result, generations, options);
      process.stderr.write(
        `  ${target} ${generations} generations: token p99 ${result.tokenP99Ms} ms, ${result.deltasPerSec} deltas/s, ` +
          `${result.cpuUsPerChunk} µs CPU/chunk, event loop p99 ${result.loopP99Ms} ms ${passed ? 'pass' : 'fail'}\n`,
      );
      if (passed && (!best || Number(result.generations) > Number(best.generations))) best = result;
      if (!passed) failed = Math.min(failed, generations);
      const passedAt = best ? Number(best.generations) : 0;
      if (passedAt >= options.maxGenerations || (passedAt > 0 && failed / passedAt < 1.15)) break;
      const next = failed === Infinity ? generations * 2 : passedAt > 0 ? (passedAt + failed) / 2 : generations / 2;
      generations = Math.min(options.maxGenerations, Math.max(1, Math.round(next)));
      if (steps.some((earlier) => Number(earlier.generations) === generations)) break;
    }
    // Unloaded again once every generation has finished: 21 sends one at a time.
    const probe = target === 'chorus' ? await loadgen.command(`probe 21 @${agentHandle}`) : undefined;
    return {
      target,
      setupMs,
      connected: Number(connect.ready),
      best,
      steps,
      ...(coldProbe ? { coldProbe } : {}),
      ...(probe ? { probe } : {}),
    };
  } finally {
    await loadgen?.stop();
    await server.stop();
  }
}
