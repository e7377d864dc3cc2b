import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { isUniqueViolation } from '../../src/db/errors.ts';
import type { PgliteWorkerClient } from '../../src/db/pglite-client.ts';
import { startTestServer } from '../support/server.ts';

const nodeBinary = process.execPath;

function clientOf(database: Database): PgliteWorkerClient {
  return (database.db as unknown as { $client: PgliteWorkerClient }).$client;
}

async function rowsOf<T>(database: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await database.db.execute(query)) as unknown as { rows: T[] }).rows;
}

describe('PGlite in a worker thread', () => {
  it('returns the same JavaScript values as PGlite in-process: dates, json, numeric, bigint, arrays, bytea', async () => {
    const database = await openDatabase({ dataDir: ':memory:' });
    try {
      const [row] = await rowsOf<Record<string, unknown>>(
        database,
        sql`select '2026-01-02T03:04:05.678Z'::timestamptz as at, '{"a":[1,2]}'::jsonb as doc, 12.50::numeric as amount,
          9007199254740993::bigint as big, 42::int as small, array['x','y'] as tags, '\\x0102'::bytea as raw, null::text as nothing`,
      );
      // drizzle's driver leaves timestamps as Postgres text; the rest is PGlite's own parsing.
      assert.equal(typeof row.at, 'string');
      assert.equal(new Date(row.at as string).toISOString(), '2026-01-02T03:04:05.678Z');
      assert.deepEqual(row.doc, { a: [1, 2] });
      assert.equal(row.amount, '12.50');
      assert.equal(row.big, 9007199254740993n);
      assert.equal(row.small, 42);
      assert.deepEqual(row.tags, ['x', 'y']);
      assert.deepEqual([...(row.raw as Uint8Array)], [1, 2]);
      assert.equal(row.nothing, null);
    } finally {
      await database.close();
    }
  });

  it('a query error crosses the thread with its SQL error code, and a duplicate handle is still a 409 conflict', async () => {
    const database = await openDatabase({ dataDir: ':memory:' });
    try {
      await database.db.execute(sql`create table unique_things (name text primary key)`);
      await database.db.execute(sql`insert into unique_things values ('a')`);
      const error = await database.db.execute(sql`insert into unique_things values ('a')`).then(
        () => assert.fail('duplicate accepted'),
        (caught: unknown) => caught,
      );
      assert.ok(isUniqueViolation(error));
      const cause = (error as { cause: Record<string, unknown> }).cause;
      assert.equal(cause.code, '23505');
      assert.equal(cause.constraint, 'unique_things_pkey');
      assert.match(cause.message as string, /duplicate key value violates unique constraint/);
    } finally {
      await database.close();
    }

    const server = await startTestServer();
    try {
      const alice = await server.register('acme', 'alice');
      const invite = await server.request('POST', '/api/v1/invites', { token: alice.accessToken, body: {} });
      const duplicate = await server.request('POST', '/api/v1/auth/register', {
        body: { workspace: 'acme', handle: 'alice', password: 'correct horse battery', inviteCode: invite.body.code },
      });
      assert.equal(duplicate.status, 409, JSON.stringify(duplicate.body));
      assert.equal(duplicate.body.error.code, 'conflict');
    } finally {
      await server.close();
    }
  });

  it('rolls a transaction back across the thread when its callback throws, and commits when it returns', async () => {
    const database = await openDatabase({ dataDir: ':memory:' });
    try {
      await database.db.execute(sql`create table ledger (entry text)`);
      await assert.rejects(
        database.db.transaction(async (tx) => {
          await tx.execute(sql`insert into ledger values ('lost')`);
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      await assert.rejects(
        database.db.transaction(async (tx) => {
          await tx.execute(sql`insert into ledger values ('lost too')`);
          await tx.execute(sql`insert into no_such_table values (1)`);
        }),
      );
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into ledger values ('kept')`);
        // A nested transaction is a savepoint: its rollback keeps the outer work.
        await tx
          .transaction(async (inner) => {
            await inner.execute(sql`insert into ledger values ('inner lost')`);
            inner.rollback();
          })
          .catch(() => {});
      });
      const rows = await rowsOf<{ entry: string }>(database, sql`select entry from ledger order by entry`);
      assert.deepEqual(
        rows.map((row) => row.entry),
        ['kept'],
      );
    } finally {
      await database.close();
    }
  });

  it('shutdown drains pending writes: every insert sent before close is there after reopening', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-drain-'));
    try {
      const first = await openDatabase({ dataDir });
      await first.db.execute(sql`create table drained (n int)`);
      const writes = Promise.all(Array.from({ length: 200 }, (_, n) => first.db.execute(sql`insert into drained values (${n})`)));
      await first.close();
      await writes;
      await assert.rejects(first.db.execute(sql`select 1`), (error: Error) => /is closed/.test(String(error.cause)));

      const second = await openDatabase({ dataDir });
      try {
        const [{ count }] = await rowsOf<{ count: number }>(second, sql`select count(*)::int as count from drained`);
        assert.equal(count, 200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a server closed while messages are being posted keeps every message it acknowledged', async () => {
    const first = await startTestServer({ keepDataDir: true });
    const dataDir = first.dataDir;
    try {
      const alice = await first.register('acme', 'alice');
      const conversation = await first.request('POST', '/api/v1/conversations', {
        token: alice.accessToken,
        body: { kind: 'group' },
      });
      const posts = Array.from({ length: 60 }, (_, n) =>
        first
          .request('POST', `/api/v1/conversations/${conversation.body.id}/messages`, {
            token: alice.accessToken,
            body: { content: `m${n}` },
          })
          .then(
            (response) => (response.status === 201 ? (response.body.content as string) : undefined),
            () => undefined, // refused once the server stopped listening: never acknowledged
          ),
      );
      await Promise.race(posts);
      await first.close();
      const acknowledged = (await Promise.all(posts)).filter((content) => content !== undefined);
      assert.ok(acknowledged.length > 0);

      const second = await startTestServer({ dataDir });
      try {
        const history = await second.request('GET', `/api/v1/conversations/${conversation.body.id}/messages?limit=100`, {
          token: alice.accessToken,
        });
        const stored = new Set(history.body.items.map((message: { content: string }) => message.content));
        for (const content of acknowledged) assert.ok(stored.has(content), `${content} was acknowledged but is missing`);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects pending and later queries when the thread dies, and reports it once', async () => {
    const exits: Error[] = [];
    const database = await openDatabase({ dataDir: ':memory:', onWorkerExit: (error) => exits.push(error) });
    const pending = database.db.execute(sql`select pg_sleep(0.5)`);
    await clientOf(database).terminate();
    const threadExited = (error: unknown) => /the embedded database thread exited/.test(String((error as Error).cause));
    await assert.rejects(pending, threadExited);
    await assert.rejects(database.db.execute(sql`select 1`), threadExited);
    assert.equal(exits.length, 1);
    await database.close();
  });

  it('the server exits with a clear log line when its database thread dies, instead of hanging', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-thread-death-'));
    const child = spawn(nodeBinary, [path.resolve(import.meta.dirname, '../support/database-thread-death.ts')], {
      env: { ...process.env, CHORUS_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.equal(code, 1, output);
      const fatal = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } })
        .find((entry) => entry.msg === 'the embedded database thread died; exiting');
      assert.ok(fatal, output);
      assert.equal(fatal.level, 60);
      assert.match(fatal.err!.message, /the embedded database thread exited \(code 1\)/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
