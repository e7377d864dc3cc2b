/**
 * Token path profile (issue 11): CPU per provider chunk when reading the same stand-in provider
 * (the load generator's OpenAI Chat Completions SSE, bench/loadgen/provider.c) through the AI
 * SDK's `streamText` (its `fullStream`) and through the provider model's `doStream` read in one
 * loop, as src/providers/model-stream.ts does, and, as the floor, through `fetch` with the
 * `raw-ws relay` baseline's own SSE parse. All three run in this one process, alternated
 * (doStream, streamText, fetch, doStream…) so that the figures come from the same run; CPU
 * is `process.cpuUsage()` (user + system) over each round divided by the text chunks read. The
 * stand-in is a separate process pinned to core 1, so its own work is not counted.
 *
 * Usage: node bench/token-path.ts [--streams 20] [--tokens 200] [--tps 50] [--rounds 3]
 * Prints one JSON line per path per round and a summary (median µs per chunk of each path).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { streamText, type LanguageModel } from 'ai';
import { parseArgs } from 'node:util';
import { readChatCompletionDeltas } from './lib/chat-completions-stream.ts';
import { buildLoadgen, Loadgen } from './lib/loadgen.ts';
import { writePlan } from './lib/plan.ts';
import { freePort } from '../scripts/free-port.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '20' },
    tokens: { type: 'string', default: '200' },
    tps: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);

/** Reads one reply through `doStream`, part by part; returns the text chunks seen. */
async function viaDoStream(model: ReturnType<ReturnType<typeof createOpenAI>['chat']>): Promise<number> {
  const { stream } = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'go' }] }] });
  const reader = stream.getReader();
  let chunks = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read())
    if (read.value.type === 'text-delta' && read.value.delta !== '') chunks++;
  return chunks;
}

/**
 * Reads one reply as the `raw-ws relay` baseline does (bench/servers/relay-server.ts): `fetch`, the
 * body's reader, its own SSE split and `JSON.parse`, no validation; returns the text chunks seen.
 * The floor any path through the same `fetch` can reach.
 */
async function viaFetch(baseURL: string): Promise<number> {
  let chunks = 0;
  await readChatCompletionDeltas(`${baseURL}/chat/completions`, 'go', () => chunks++);
  return chunks;
}

/** Reads one reply through `streamText`'s `fullStream`; returns the text chunks seen. */
async function viaStreamText(model: LanguageModel): Promise<number> {
  const result = streamText({ model, prompt: 'go', maxRetries: 0 });
  let chunks = 0;
  const reader = result.fullStream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read())
    if (read.value.type === 'text-delta' && read.value.text !== '') chunks++;
  return chunks;
}

buildLoadgen();
const providerPort = await freePort();
const secondsPerRound = tokens / Number(values.tps) + 2;
const loadgen = await Loadgen.start({
  proto: 'chorus',
  port: 0,
  path: '/',
  planFile: writePlan({ rooms: [], connections: [], publishers: [] }),
  serverPid: process.pid,
  core: 1,
  providerPort,
  tokens,
  tokensPerSecond: Number(values.tps),
});
// The generator serves its provider only while a command runs: keep it polling for the whole profile.
// Its answer only comes when it exits (stop() below), so a rejection then is expected.
loadgen.command(`settle ${secondsPerRound * rounds * 2 + 60} ${secondsPerRound * rounds * 2 + 30}`).catch(() => undefined);
const baseURL = `http://127.0.0.1:${providerPort}/v1`;
const model = createOpenAI({ apiKey: 'bench-key', baseURL }).chat('bench');
const paths = { doStream: () => viaDoStream(model), streamText: () => viaStreamText(model), fetch: () => viaFetch(baseURL) };
const figures: Record<keyof typeof paths, number[]> = { doStream: [], streamText: [], fetch: [] };

// One warm-up round of each (JIT), not counted.
for (const read of Object.values(paths)) await Promise.all(Array.from({ length: streams }, read));
for (let round = 0; round < rounds; round++) {
  for (const [name, read] of Object.entries(paths) as Array<[keyof typeof paths, () => Promise<number>]>) {
    const before = process.cpuUsage();
    const counts = await Promise.all(Array.from({ length: streams }, read));
    const cpu = process.cpuUsage(before);
    const chunks = counts.reduce((sum, count) => sum + count, 0);
    const usPerChunk = (cpu.user + cpu.system) / chunks;
    figures[name].push(usPerChunk);
    console.log(JSON.stringify({ round, path: name, streams, chunks, cpuMs: (cpu.user + cpu.system) / 1000, usPerChunk }));
  }
}
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
console.log(
  `CPU µs per provider chunk (median of ${rounds} rounds, ${streams} concurrent streams of ${tokens} chunks at ${values.tps}/s): ` +
    `streamText ${median(figures.streamText).toFixed(1)}, doStream ${median(figures.doStream).toFixed(1)}, ` +
    `fetch with the relay's own parse ${median(figures.fetch).toFixed(1)}`,
);
await loadgen.stop();
