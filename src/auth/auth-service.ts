import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { uuidv7 } from 'uuidv7';
import type { Db, Executor } from '../db/database.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { apiKeys, invites, refreshTokens, users, workspaces } from '../db/schema.ts';
import { claimHandle } from '../users/handles.ts';
import { AppError } from '../errors/app-error.ts';
import {
  findUserByHandle,
  getUser,
  getWorkspace,
  toPublicUser,
  toPublicWorkspace,
  type PublicUser,
  type PublicWorkspace,
} from '../users/users.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.ts';
import { hashSecret, randomSecret, refreshTokenTtlMs, type TokenSigner } from './tokens.ts';

/** What auth needs: the database and the access-token signer. */
export interface AuthDeps {
  db: Db;
  signer: TokenSigner;
}

/** The answer to register, login and refresh. */
export interface Session {
  user: PublicUser;
  workspace: PublicWorkspace;
  accessToken: string;
  refreshToken: string;
}

/** Who a request is from, as established by `authenticate`. */
export interface Principal {
  userId: string;
  workspaceId: string;
  /** Seconds since the epoch when the credential stops being valid; undefined for API keys. */
  expiresAt?: number;
}

const inviteTtlMs = 7 * 24 * 60 * 60 * 1000;
const apiKeyPrefix = 'chorus_';

/**
 * Registers a user. Without `inviteCode` a new workspace `workspace` is created with the user as
 * owner; with one, the user joins that workspace with the invite's role.
 * Throws conflict (workspace exists without an invite, or handle taken), forbidden (bad or used-up invite).
 */
export async function register(
  deps: AuthDeps,
  input: { workspace: string; handle: string; password: string; displayName?: string; inviteCode?: string },
): Promise<Session> {
  const passwordHash = await hashPassword(input.password);
  const slug = input.workspace.toLowerCase();
  try {
    const { user, workspace } = await deps.db.transaction(async (tx) => {
      let workspaceRow: typeof workspaces.$inferSelect;
      let role: 'owner' | 'admin' | 'member';
      if (input.inviteCode) {
        const [existing] = await tx.select().from(workspaces).where(eq(workspaces.slug, slug));
        const [invite] = existing
          ? await tx
              .update(invites)
              .set({ uses: sql`${invites.uses} + 1` })
              .where(
                and(
                  eq(invites.codeHash, hashSecret(input.inviteCode)),
                  eq(invites.workspaceId, existing.id),
                  gt(invites.expiresAt, new Date()),
                  lt(invites.uses, invites.maxUses),
                ),
              )
              .returning()
          : [];
        if (!existing || !invite) throw new AppError('forbidden', 'Invite code is invalid, expired or used up');
        workspaceRow = existing;
        role = invite.role;
      } else {
        const [created] = await tx
          .insert(workspaces)
          .values({ id: uuidv7(), slug, name: input.workspace })
          .onConflictDoNothing()
          .returning();
        if (!created) throw new AppError('conflict', 'Workspace already exists; joining it needs an invite code');
        workspaceRow = created;
        role = 'owner';
      }
      const userId = uuidv7();
      await claimHandle(tx, { workspaceId: workspaceRow.id, handle: input.handle, ownerType: 'user', ownerId: userId });
      const [userRow] = await tx
        .insert(users)
        .values({
          id: userId,
          workspaceId: workspaceRow.id,
          handle: input.handle,
          displayName: input.displayName ?? input.handle,
          role,
          passwordHash,
        })
        .returning();
      return { user: userRow, workspace: workspaceRow };
    });
    return issueSession(deps, user, workspace);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('conflict', 'Handle is already taken in this workspace');
    throw error;
  }
}

/** Signs in with workspace slug, handle and password. Throws unauthorized with one message for every mismatch. */
export async function login(deps: AuthDeps, input: { workspace: string; handle: string; password: string }): Promise<Session> {
  const [workspace] = await deps.db.select().from(workspaces).where(eq(workspaces.slug, input.workspace.toLowerCase()));
  const user = workspace ? await findUserByHandle(deps.db, workspace.id, input.handle) : undefined;
  const valid = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), input.password);
  if (!workspace || !user || !valid) throw new AppError('unauthorized', 'Invalid workspace, handle or password');
  return issueSession(deps, user, workspace);
}

/**
 * Exchanges a refresh token for a new pair (rotation). A token presented twice is taken as stolen:
 * its whole family is revoked and both holders must sign in again. Throws unauthorized.
 */
export async function refresh(deps: AuthDeps, presented: string): Promise<Session> {
  const [id, secret] = presented.split('.', 2);
  const invalid = new AppError('unauthorized', 'Invalid refresh token');
  if (!id || !secret || !/^[0-9a-f-]{36}$/.test(id)) throw invalid;
  const [row] = await deps.db.select().from(refreshTokens).where(eq(refreshTokens.id, id));
  if (!row || row.tokenHash !== hashSecret(secret)) throw invalid;
  if (row.revokedAt || row.expiresAt <= new Date()) throw invalid;
  const [claimed] = await deps.db
    .update(refreshTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(refreshTokens.id, id), isNull(refreshTokens.usedAt)))
    .returning();
  if (!claimed) {
    await deps.db.update(refreshTokens).set({ revokedAt: new Date() }).where(eq(refreshTokens.familyId, row.familyId));
    throw new AppError('unauthorized', 'Refresh token was already used; the session has been revoked');
  }
  const user = await getUser(deps.db, row.workspaceId, row.userId);
  const workspace = await getWorkspace(deps.db, row.workspaceId);
  return issueSession(deps, user, workspace, row.familyId);
}

/** Revokes the refresh-token family of `presented` (sign out). Unknown tokens are ignored. */
export async function logout(deps: AuthDeps, presented: string): Promise<void> {
  const [id, secret] = presented.split('.', 2);
  if (!id || !secret || !/^[0-9a-f-]{36}$/.test(id)) return;
  const [row] = await deps.db.select().from(refreshTokens).where(eq(refreshTokens.id, id));
  if (!row || row.tokenHash !== hashSecret(secret)) return;
  await deps.db.update(refreshTokens).set({ revokedAt: new Date() }).where(eq(refreshTokens.familyId, row.familyId));
}

async function issueSession(
  deps: AuthDeps,
  user: typeof users.$inferSelect,
  workspace: typeof workspaces.$inferSelect,
  familyId: string = uuidv7(),
): Promise<Session> {
  const id = uuidv7();
  const secret = randomSecret();
  await deps.db.insert(refreshTokens).values({
    id,
    workspaceId: workspace.id,
    userId: user.id,
    familyId,
    tokenHash: hashSecret(secret),
    expiresAt: new Date(Date.now() + refreshTokenTtlMs),
  });
  return {
    user: toPublicUser(user),
    workspace: toPublicWorkspace(workspace),
    accessToken: await deps.signer.signAccessToken(user.id, workspace.id),
    refreshToken: `${id}.${secret}`,
  };
}

/** Creates an invite code to the principal's workspace. Only owners and admins; throws forbidden. */
export async function createInvite(
  deps: AuthDeps,
  principal: Principal,
  input: { role?: 'admin' | 'member'; maxUses?: number },
): Promise<{ code: string; workspace: string; role: 'admin' | 'member'; maxUses: number; expiresAt: string }> {
  const user = await getUser(deps.db, principal.workspaceId, principal.userId);
  if (user.role === 'member') throw new AppError('forbidden', 'Only owners and admins can invite');
  const role = input.role ?? 'member';
  if (role === 'admin' && user.role !== 'owner') throw new AppError('forbidden', 'Only owners can invite admins');
  const workspace = await getWorkspace(deps.db, principal.workspaceId);
  const code = randomSecret(12);
  const maxUses = input.maxUses ?? 1;
  const expiresAt = new Date(Date.now() + inviteTtlMs);
  await deps.db.insert(invites).values({
    id: uuidv7(),
    workspaceId: principal.workspaceId,
    codeHash: hashSecret(code),
    role,
    createdBy: principal.userId,
    maxUses,
    expiresAt,
  });
  return { code, workspace: workspace.slug, role, maxUses, expiresAt: expiresAt.toISOString() };
}

/** Creates an API key for the principal, acting as them. The key is returned once and stored hashed. */
export async function createApiKey(
  db: Executor,
  principal: Principal,
  name: string,
): Promise<{ id: string; name: string; key: string; prefix: string; createdAt: string }> {
  const key = `${apiKeyPrefix}${randomSecret()}`;
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: uuidv7(),
      workspaceId: principal.workspaceId,
      userId: principal.userId,
      name,
      keyHash: hashSecret(key),
      prefix: key.slice(0, apiKeyPrefix.length + 6),
    })
    .returning();
  return { id: row.id, name: row.name, key, prefix: row.prefix, createdAt: row.createdAt.toISOString() };
}

/** The principal's API keys, without secrets. */
export async function listApiKeys(db: Executor, principal: Principal) {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, principal.workspaceId), eq(apiKeys.userId, principal.userId), isNull(apiKeys.revokedAt)))
    .orderBy(apiKeys.createdAt);
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  }));
}

/** Revokes one of the principal's API keys. Throws not_found. */
export async function revokeApiKey(db: Executor, principal: Principal, id: string): Promise<void> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(apiKeys.id, id),
        eq(apiKeys.workspaceId, principal.workspaceId),
        eq(apiKeys.userId, principal.userId),
        isNull(apiKeys.revokedAt),
      ),
    )
    .returning({ id: apiKeys.id });
  if (revoked.length === 0) throw new AppError('not_found', 'API key not found');
}

/**
 * Resolves a bearer credential (an access JWT or an API key) to a principal.
 * Throws unauthorized for anything else.
 */
export async function authenticate(deps: AuthDeps, credential: string): Promise<Principal> {
  if (credential.startsWith(apiKeyPrefix)) {
    const [row] = await deps.db
      .update(apiKeys)
      .set({ lastUsedAt: new Date() })
      .where(and(eq(apiKeys.keyHash, hashSecret(credential)), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) throw new AppError('unauthorized', 'Invalid API key');
    return { userId: row.userId, workspaceId: row.workspaceId };
  }
  const claims = await deps.signer.verifyAccessToken(credential);
  return { userId: claims.userId, workspaceId: claims.workspaceId, expiresAt: claims.expiresAt };
}
