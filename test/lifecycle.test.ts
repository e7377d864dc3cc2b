import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { checkpointIfDue } from '../src/db/pglite-settings.ts';
import { testDatabases } from './support/databases.ts';
import { startTestServer } from './support/server.ts';

const nodeBinary = process.execPath;
const cli = path.resolve(import.meta.dirname, '../src/cli.ts');

describe('lifecycle', () => {
  it('keeps data and signed-in sessions across a restart with the same data dir', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-restart-'));
    try {
      const first = await startTestServer({ dataDir });
      const alice = await first.register('acme', 'alice');
      const conversation = await first.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group' },
      });
      await first.request('POST', `/api/v1/conversations/${conversation.body.id}/messages`, {
        token: alice.accessToken,
        body: { content: 'persisted' },
      });
      await first.close();

      const second = await startTestServer({ dataDir });
      const me = await second.request('GET', '/api/v1/me', { token: alice.accessToken });
      assert.equal(me.status, 200, 'the access token survives: the JWT secret is kept in the data dir');
      const history = await second.request('GET', `/api/v1/conversations/${conversation.body.id}/messages`, {
        token: alice.accessToken,
      });
      assert.deepEqual(
        history.body.items.map((message: { content: string }) => message.content),
        ['persisted'],
      );
      const refreshed = await second.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: alice.refreshToken } });
      assert.equal(refreshed.status, 200);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  for (const database of testDatabases()) {
    it(`migrates an empty ${database.name} database, and again as a no-op`, async () => {
      const url = await database.createUrl();
      const opened = await openDatabase({ databaseUrl: url, dataDir: ':memory:' });
      try {
        await opened.migrate();
        await opened.migrate();
        const result = await opened.db.execute(
          sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
        );
        const tables = (result as unknown as { rows: Array<{ table_name: string }> }).rows.map((row) => row.table_name);
        for (const table of [
          'workspaces',
          'users',
          'conversations',
          'conversation_members',
          'messages',
          'agents',
          'runs',
          'refresh_tokens',
        ]) {
          assert.ok(tables.includes(table), `${table} in ${tables.join(',')}`);
        }
      } finally {
        await opened.close();
      }
    });
  }

  it('runs the embedded PGlite with the documented settings (docs/configuration.md)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-settings-'));
    const opened = await openDatabase({ dataDir });
    try {
      const setting = async (name: string) =>
        ((await opened.db.execute(sql.raw(`show ${name}`))) as unknown as { rows: Array<Record<string, string>> }).rows[0]![name];
      assert.equal(await setting('shared_buffers'), '8MB');
      assert.equal(await setting('max_connections'), '4');
      assert.equal(await setting('wal_init_zero'), 'off');
    } finally {
      await opened.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('checkpoints the embedded database once enough WAL is written, which PGlite never does by itself', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-checkpoint-'));
    const client = new PGlite(dataDir);
    const segments = () => readdirSync(path.join(dataDir, 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name)).length;
    try {
      await client.exec('create table filler (body text)');
      assert.equal(await checkpointIfDue(client, 16 * 2 ** 20), false, 'nothing to checkpoint yet');
      const write30MB = async () => {
        for (let i = 0; i < 6; i++)
          await client.query(`insert into filler select repeat('x', 1000) from generate_series(1, 5000)`);
      };
      await write30MB();
      assert.equal(await checkpointIfDue(client, 16 * 2 ** 20), true);
      assert.equal(await checkpointIfDue(client, 16 * 2 ** 20), false, 'just checkpointed');
      const afterFirst = segments();
      await write30MB();
      assert.equal(await checkpointIfDue(client, 16 * 2 ** 20), true);
      // Without the checkpoints pg_wal grows by two segments per 30 MB; with them the old ones are reused.
      assert.ok(segments() <= afterFirst, `pg_wal bounded: ${afterFirst} → ${segments()} segments`);
    } finally {
      await client.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports every configuration problem at once', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', CHORUS_DEFAULT_MODEL: 'gpt4', LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const key of ['PORT', 'DATABASE_URL', 'CHORUS_DEFAULT_MODEL', 'LOG_LEVEL'])
          assert.match(error.message, new RegExp(key));
        return true;
      },
    );
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h' }), /CHORUS_JWT_SECRET/);
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://h' }), /REDIS_URL needs DATABASE_URL/);
    assert.throws(
      () => loadConfig({ CHORUS_ROLE: 'worker' }),
      /CHORUS_ROLE: "worker" needs distributed mode \(DATABASE_URL and REDIS_URL\)/,
    );
    assert.throws(
      () => loadConfig({ CHORUS_ROLE: 'api', DATABASE_URL: 'postgres://h/db' }),
      /CHORUS_ROLE: "api" needs distributed mode/,
    );
    assert.throws(() => loadConfig({ CHORUS_ROLE: 'web' }), /CHORUS_ROLE: must be all, api or worker \(got "web"\)/);
    const distributed = { DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h', CHORUS_JWT_SECRET: 'x'.repeat(32) };
    assert.equal(loadConfig({ ...distributed, CHORUS_ROLE: 'worker' }).role, 'worker');
    const config = loadConfig({});
    assert.equal(config.mode, 'embedded');
    assert.equal(config.port, 3000);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.limits));
  });

  it('stops start-up with one clear line on invalid configuration', async () => {
    const child = spawn(nodeBinary, [cli, 'start'], { env: { ...process.env, PORT: 'nope' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^chorus: Invalid configuration: PORT/);
  });

  it('refuses a wrong --role at start-up with one clear line', async () => {
    const child = spawn(nodeBinary, [cli, 'start', '--role', 'gateway'], {
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /^chorus: Invalid configuration: CHORUS_ROLE: must be all, api or worker \(got "gateway"\)/);
  });

  it('starts with `chorus start` and shuts down cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-cli-'));
    const child = spawn(nodeBinary, [cli, 'start'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', CHORUS_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout.on('data', (chunk) => {
          output += chunk;
          const match = output.match(/"url":"(http:\/\/[^"]+)"/);
          if (match) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
