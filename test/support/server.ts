import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/database.ts';
import type { AppContext } from '../../src/http/context.ts';
import { startServer } from '../../src/main.ts';

export interface TestServer {
  app: FastifyInstance;
  context: AppContext;
  config: Config;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  dataDir: string;
  /** JSON request against the server; `token` adds a bearer header. */
  request(
    method: string,
    pathname: string,
    options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Registers a user (creating the workspace unless `inviteCode`) and returns the session. */
  register(workspace: string, handle: string, inviteCode?: string): Promise<Session>;
  /** Registers `handle` into `inviter`'s workspace with an invite `inviter` creates. */
  join(inviter: Session, handle: string): Promise<Session>;
  close(): Promise<void>;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; handle: string; workspaceId: string; role: string };
  workspace: { id: string; slug: string };
}

/**
 * Starts a real Chorus node on 127.0.0.1:0 through the same composition root as `npm start`, with
 * the given database URL (PGlite in a temp dir when undefined) and config overrides (env-style
 * keys, e.g. REDIS_URL for distributed mode). Rate limiting is off unless overridden.
 */
export async function startTestServer(
  options: { databaseUrl?: string; env?: Record<string, string>; dataDir?: string; keepDataDir?: boolean; logger?: Logger } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'chorus-test-'));
  if (!options.dataDir && !options.databaseUrl) cpSync(await pgliteTemplate(), path.join(dataDir, 'pglite'), { recursive: true });
  const config = loadConfig({
    CHORUS_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    CHORUS_RATE_LIMIT_PER_SECOND: '0',
    ...(options.databaseUrl
      ? { DATABASE_URL: options.databaseUrl, CHORUS_JOB_QUEUE_PREFIX: queuePrefixFor(options.databaseUrl) }
      : {}),
    ...options.env,
  });
  const { app, context, url } = await startServer(config, { logger: options.logger });

  const request: TestServer['request'] = async (method, pathname, requestOptions = {}) => {
    const headers: Record<string, string> = { ...requestOptions.headers };
    if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
    let body: string | undefined;
    if (requestOptions.rawBody !== undefined) {
      body = requestOptions.rawBody;
      headers['content-type'] ??= 'application/json';
    } else if (requestOptions.body !== undefined) {
      body = JSON.stringify(requestOptions.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(url + pathname, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };

  const register: TestServer['register'] = async (workspace, handle, inviteCode) => {
    const response = await request('POST', '/api/v1/auth/register', {
      body: { workspace, handle, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}) },
    });
    if (response.status !== 201) throw new Error(`register ${handle}@${workspace} failed: ${JSON.stringify(response.body)}`);
    return response.body as Session;
  };

  return {
    app,
    context,
    config,
    url,
    dataDir,
    request,
    register,
    async join(inviter, handle) {
      const invite = await request('POST', '/api/v1/invites', { token: inviter.accessToken, body: {} });
      if (invite.status !== 201) throw new Error(`invite by ${inviter.user.handle} failed: ${JSON.stringify(invite.body)}`);
      return register(inviter.workspace.slug, handle, invite.body.code);
    },
    async close() {
      await app.close();
      if (!options.keepDataDir && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The job queue prefix of test nodes over `databaseUrl`: nodes of one test (one database) share
 * their queues, and tests running at once (other suites, other checkouts) on the same Redis never
 * take each other's jobs.
 */
export function queuePrefixFor(databaseUrl: string): string {
  return `chorus-test-${createHash('sha256').update(databaseUrl).digest('hex').slice(0, 12)}`;
}

const dbDir = path.resolve(import.meta.dirname, '../../src/db');
let template: Promise<string> | undefined;

/**
 * The `pglite` directory of a migrated cluster that test servers start from a copy of: ~0.2 s to
 * start instead of ~3 s on a fresh directory (initdb in a child process, then every migration).
 * Made once per migration set, storage code and PGlite version, and kept as a cache in
 * `<tmpdir>/chorus-test-template-<hash>` (built aside, then renamed into place, so concurrent test
 * processes never see half of one); making one removes the templates of other hashes. Servers
 * given a `dataDir` still start from nothing; the fresh path has its own tests in
 * test/lifecycle.test.ts.
 */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const hash = createHash('sha256');
    hash.update(readFileSync(path.resolve(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json')));
    const files = [
      'database.ts',
      'pglite-initdb.ts',
      'pglite-settings.ts',
      ...readdirSync(path.join(dbDir, 'migrations'), { recursive: true, encoding: 'utf8' }).map((name) =>
        path.join('migrations', name),
      ),
    ];
    for (const name of files.sort()) {
      const file = path.join(dbDir, name);
      if (name.endsWith('.sql') || name.endsWith('.json') || name.endsWith('.ts')) hash.update(name).update(readFileSync(file));
    }
    const directory = path.join(tmpdir(), `chorus-test-template-${hash.digest('hex').slice(0, 16)}`);
    if (!existsSync(directory)) {
      const building = mkdtempSync(path.join(tmpdir(), 'chorus-test-template-building-'));
      const database = await openDatabase({ dataDir: building });
      await database.migrate();
      await database.close();
      try {
        renameSync(building, directory);
      } catch {
        rmSync(building, { recursive: true, force: true }); // another process made it first
      }
      // Templates of earlier migration sets or PGlite versions are of no further use.
      for (const name of readdirSync(tmpdir())) {
        const stale = /^chorus-test-template-[0-9a-f]{16}$/.test(name) && path.join(tmpdir(), name) !== directory;
        if (stale) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
      }
    }
    return path.join(directory, 'pglite');
  })();
  return template;
}
