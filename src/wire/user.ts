/**
 * The public shapes of users and workspaces (SPEC §3), shared by the server and the web client
 * (web/src/client). Dependency-free: imports nothing outside src/wire. Times are ISO 8601 strings.
 */

/** A user as the API shows it (never the password hash). */
export interface PublicUser {
  id: string;
  workspaceId: string;
  handle: string;
  displayName: string;
  role: 'owner' | 'admin' | 'member';
  createdAt: string;
}

/** A workspace: `slug` is what people type to register into it or log in. */
export interface PublicWorkspace {
  id: string;
  slug: string;
  name: string;
  createdAt: string;
}
