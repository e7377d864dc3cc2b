import type { Tokens } from './types.ts';

/** Where a client keeps its token pair between requests (and, in a browser, across reloads). */
export interface TokenStore {
  get(): Tokens | null;
  /** Stores a new pair, or `null` to forget it (signed out). */
  set(tokens: Tokens | null): void;
}

/** Keeps tokens in memory only: for scripts, bots and tests. */
export function memoryTokenStore(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/** Keeps tokens in `storage` (e.g. window.localStorage) under `key`, so a reload stays signed in. */
export function webStorageTokenStore(storage: Storage, key = 'chorus.tokens'): TokenStore {
  return {
    get() {
      try {
        const value = JSON.parse(storage.getItem(key) ?? 'null') as Tokens | null;
        return value && typeof value.accessToken === 'string' && typeof value.refreshToken === 'string' ? value : null;
      } catch {
        return null;
      }
    },
    set(tokens) {
      if (tokens) storage.setItem(key, JSON.stringify({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }));
      else storage.removeItem(key);
    },
  };
}
