/**
 * Send → provider probe (issue 11, "send → provider request under 5 ms median"): starts Chorus the
 * way the bench does (`startChorus`: `chorus start` pinned to core 0, its PGlite thread on core 1),
 * with this process as both the WebSocket client and the OpenAI Chat Completions stand-in. One
 * person sends to a group with one agent: first `warmup` sends 20 ms apart (so the path runs
 * optimised code, as after the stream scenario's search), then `samples` sends one at a time,
 * 200 ms apart, each to its own conversation (used before, so caches are warm, as in the stream
 * scenario's probe). A sample is the time from the `send` frame written to the provider request's
 * body fully read; the stand-in answers with a one-token reply.
 *
 * Usage: node bench/send-path.ts [--warmup 200] [--samples 40] [--env KEY=VALUE ...]
 * Prints the median and quartiles (ms) as one JSON line; `--env` adds variables to Chorus's.
 */
import { once } from 'node:events';
import http from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { api, createGroup, registerUsers, startChorus } from './lib/chorus.ts';
import { freePort } from '../scripts/free-port.ts';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '200' },
    samples: { type: 'string', default: '40' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const warmup = Number(values.warmup);
const samples = Number(values.samples);
const extraEnv = Object.fromEntries(
  values.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-probe', object: 'chat.completion.chunk', created: 1700000000, model: 'bench', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** Resolves the pending sample's wait with the time its provider request was fully read. */
let onRequest: ((at: bigint) => void) | undefined;
const provider = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    onRequest?.(process.hrtime.bigint());
    onRequest = undefined;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(chunk({ role: 'assistant', content: '' }));
    response.write(chunk({ content: 'ok' }));
    response.write(chunk({}, 'stop'));
    response.end('data: [DONE]\n\n');
  });
});
const providerPort = await freePort();
provider.listen(providerPort, '127.0.0.1');
await once(provider, 'listening');

const chorus = await startChorus(0, {
  OPENAI_API_KEY: 'bench-key',
  OPENAI_BASE_URL: `http://127.0.0.1:${providerPort}/v1`,
  CHORUS_DEFAULT_MODEL: 'openai/bench',
  ...extraEnv,
});
try {
  const [user] = await registerUsers(chorus.baseUrl, 1);
  const agent = await api<{ id: string }>(chorus.baseUrl, 'POST', '/agents', user!.token, {
    handle: 'probe-agent',
    displayName: 'Probe agent',
    model: 'openai/bench',
    systemPrompt: 'You are a benchmark stand-in.',
  });
  const conversations: string[] = [];
  for (let index = 0; index < samples; index++) {
    const id = await createGroup(chorus.baseUrl, user!, [{ type: 'agent', id: agent.id }], `probe ${index}`);
    // As in the stream scenario's probe, the conversation was used before (its caches are warm).
    await api(chorus.baseUrl, 'POST', `/conversations/${id}/messages`, user!.token, { content: 'hello' });
    conversations.push(id);
  }

  const socket = new WebSocket(`${chorus.baseUrl.replace('http', 'ws')}/api/v1/ws`);
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'auth', id: 'auth', token: user!.token }));
  await new Promise<void>((resolve, reject) => {
    socket.on('message', function authenticated(data: Buffer) {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string };
      if (frame.id !== 'auth') return;
      socket.off('message', authenticated);
      if (frame.type === 'ack') resolve();
      else reject(new Error(`auth failed: ${data.toString()}`));
    });
  });

  const times: number[] = [];
  // Warm-up first, 20 ms apart, so the path runs optimised code as after the stream scenario's search.
  const sends = [...Array.from({ length: warmup }, (_, index) => conversations[index % conversations.length]!), ...conversations];
  for (const [index, conversationId] of sends.entries()) {
    const requested = new Promise<bigint>((resolve) => (onRequest = resolve));
    const sentAt = process.hrtime.bigint();
    socket.send(
      JSON.stringify({ type: 'send', conversationId, clientMsgId: `probe-${index}`, content: `@probe-agent probe ${index}` }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 5000);
    });
    const at = await Promise.race([requested, timedOut]);
    clearTimeout(timer);
    if (at === undefined) throw new Error(`send ${index}: no provider request within 5 s`);
    if (index >= warmup) times.push(Number(at - sentAt) / 1e6);
    await new Promise((resolve) => setTimeout(resolve, index < warmup ? 20 : 200));
  }
  socket.close();
  times.sort((a, b) => a - b);
  const at = (q: number) => Number(times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2));
  console.log(JSON.stringify({ samples: times.length, p25Ms: at(0.25), p50Ms: at(0.5), p75Ms: at(0.75), maxMs: at(1) }));
} finally {
  await chorus.stop();
  provider.close();
}
