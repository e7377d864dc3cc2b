import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/database.ts';
import { users, workspaces } from '../db/schema.ts';
import { notFound } from '../errors/app-error.ts';
import type { PublicUser, PublicWorkspace } from '../wire/user.ts';

export type UserRow = typeof users.$inferSelect;
export type WorkspaceRow = typeof workspaces.$inferSelect;

// The public shapes live in src/wire (shared with the web client).
export type { PublicUser, PublicWorkspace };

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    handle: row.handle,
    displayName: row.displayName,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
  };
}

export function toPublicWorkspace(row: WorkspaceRow): PublicWorkspace {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: row.createdAt.toISOString() };
}

/** The user `userId` in `workspaceId`. Throws not_found (also for another workspace's user). */
export async function getUser(db: Executor, workspaceId: string, userId: string): Promise<UserRow> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.workspaceId, workspaceId), eq(users.id, userId)));
  if (!row) throw notFound('User');
  return row;
}

/** Case-insensitive lookup by handle within one workspace; undefined when absent. */
export async function findUserByHandle(db: Executor, workspaceId: string, handle: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.workspaceId, workspaceId), eq(sql`lower(${users.handle})`, handle.toLowerCase())));
  return row;
}

/** Every user of a workspace, by handle; for the member picker. */
export async function listUsers(db: Executor, workspaceId: string): Promise<UserRow[]> {
  return db.select().from(users).where(eq(users.workspaceId, workspaceId)).orderBy(users.handle);
}

export async function getWorkspace(db: Executor, workspaceId: string): Promise<WorkspaceRow> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
  if (!row) throw notFound('Workspace');
  return row;
}
