import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A storage backend a suite runs against. */
export interface TestDatabase {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database URL for PostgreSQL; undefined for PGlite (in memory). */
  createUrl(): Promise<string | undefined>;
}

const adminUrl = process.env.TEST_DATABASE_URL;

/**
 * The backends to run storage-touching suites against: PGlite always, PostgreSQL when
 * TEST_DATABASE_URL names a server where the user may CREATE DATABASE (.ci/run starts one).
 * Each `createUrl()` makes a new database so suites never share state.
 */
export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [{ name: 'pglite', createUrl: async () => undefined }];
  if (adminUrl) list.push({ name: 'postgres', createUrl: () => createPostgresDatabase(adminUrl) });
  return list;
}

async function createPostgresDatabase(url: string): Promise<string> {
  const name = `chorus_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}
