import type { User, Workspace } from '../client/index.ts';

/** Who is signed in, as last seen: lets a reload (even offline) show the chat at once. */
export interface Profile {
  user: User;
  workspace: Workspace;
}

const key = 'chorus.profile';

/** The cached profile, or null when none (or unreadable). */
export function readProfile(storage: Storage): Profile | null {
  try {
    return JSON.parse(storage.getItem(key) ?? 'null') as Profile | null;
  } catch {
    return null;
  }
}

/** Stores `profile`, or forgets it with null (signed out). */
export function writeProfile(storage: Storage, profile: Profile | null): void {
  if (profile) storage.setItem(key, JSON.stringify({ user: profile.user, workspace: profile.workspace }));
  else storage.removeItem(key);
}
