import type { Executor } from '../db/database.ts';
import { handles } from '../db/schema.ts';

/**
 * Claims `handle` (case-insensitively) in the workspace for a user or an agent: users and agents
 * share one namespace (SPEC §3). Call inside the transaction that creates the owner. A taken handle
 * raises the database's unique violation (SQLSTATE 23505), which callers turn into `conflict`.
 */
export async function claimHandle(
  tx: Executor,
  claim: { workspaceId: string; handle: string; ownerType: 'user' | 'agent'; ownerId: string },
): Promise<void> {
  await tx.insert(handles).values({
    workspaceId: claim.workspaceId,
    handleLower: claim.handle.toLowerCase(),
    ownerType: claim.ownerType,
    ownerId: claim.ownerId,
  });
}
