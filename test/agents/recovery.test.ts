import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startFakeOpenAI } from '../support/fake-providers.ts';
import { startTestServer } from '../support/server.ts';
import { startAgentWorld } from './support.ts';

const cli = path.resolve(import.meta.dirname, '../../src/cli.ts');

describe('crash recovery', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-crash-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('marks a reply left streaming by a killed server as interrupted on the next start', async () => {
    const provider = await startFakeOpenAI();
    provider.setFallback(() => ({ steps: [{ text: 'partial reply' }, { stall: true }] }));
    const env = {
      CHORUS_DATA_DIR: dataDir,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: provider.url,
      CHORUS_DEFAULT_MODEL: 'openai/fake-model',
      CHORUS_PARTIAL_SAVE_INTERVAL_MS: '20',
      CHORUS_RATE_LIMIT_PER_SECOND: '0',
    };
    const child = spawn(process.execPath, [cli, 'start'], {
      env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
          if (match) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${output}`)));
      });
      const call = async (method: string, pathname: string, token?: string, body?: unknown) => {
        const response = await fetch(url + pathname, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const session = (
        await call('POST', '/api/v1/auth/register', undefined, {
          workspace: 'crashy',
          handle: 'alice',
          password: 'correct horse battery',
        })
      ).body;
      const agent = (await call('POST', '/api/v1/agents', session.accessToken, { handle: 'fragile' })).body;
      const conversation = (
        await call('POST', '/api/v1/conversations', session.accessToken, {
          kind: 'direct',
          members: [{ type: 'agent', id: agent.id }],
        })
      ).body;
      await call('POST', `/api/v1/conversations/${conversation.id}/messages`, session.accessToken, { content: 'hello' });
      await provider.request(0);
      let reply: any;
      do {
        const page = await call('GET', `/api/v1/conversations/${conversation.id}/messages?limit=5`, session.accessToken);
        reply = page.body.items.find((message: any) => message.sender.type === 'agent');
      } while (reply?.content !== 'partial reply');
      assert.equal(reply.status, 'streaming');

      child.kill('SIGKILL');
      await exited;

      const server = await startTestServer({ dataDir, env });
      try {
        const page = await server.request('GET', `/api/v1/conversations/${conversation.id}/messages?limit=5`, {
          token: session.accessToken,
        });
        const recovered = page.body.items.find((message: any) => message.id === reply.id);
        assert.equal(recovered.status, 'interrupted');
        assert.equal(recovered.content, 'partial reply');
        assert.match(recovered.error, /server stopped/);
        const run = await server.request('GET', `/api/v1/runs/${reply.runId}`, { token: session.accessToken });
        assert.equal(run.body.status, 'interrupted');
      } finally {
        await server.close();
      }
    } finally {
      child.kill('SIGKILL');
      await provider.close();
    }
  });

  it('ends a reply interrupted, keeping its text, when the server shuts down gracefully', async () => {
    const world = await startAgentWorld();
    try {
      const agent = await world.createAgent({ handle: 'sleepy' });
      const conversationId = await world.createConversation('direct', [{ type: 'agent', id: agent.id }]);
      world.provider.enqueue({ steps: [{ text: 'before shutdown' }, { stall: true }] });
      const log = world.watch(conversationId);
      await world.send(conversationId, 'hello');
      await log.waitFor((event) => event.type === 'message.delta');
      await world.server.close();
      const done = await log.done();
      assert.equal(done.status, 'interrupted');
      assert.equal(done.content, 'before shutdown');
      await world.provider.requests.at(-1)!.aborted;
    } finally {
      await world.provider.close();
    }
  });
});
