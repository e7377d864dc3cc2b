import { ChorusError } from './errors.ts';
import type { TokenStore } from './token-store.ts';
import type { AuthResult, Tokens } from './types.ts';

/** How an HttpClient reaches the server and keeps its tokens. */
export interface HttpClientOptions {
  /** Origin of the server, e.g. `https://chat.example.com`; '' for the page's own origin. */
  baseUrl: string;
  tokens: TokenStore;
  /** Called once when the refresh token is refused: the session is over. */
  onSignedOut?: () => void;
  /**
   * Runs a token refresh exclusively among every client sharing the token store (in a browser:
   * `(run) => navigator.locks.request('chorus.tokens', run)`, so two tabs never spend the same
   * refresh token: the server takes a reused one as stolen and revokes the session).
   */
  lock?: <T>(run: () => Promise<T>) => Promise<T>;
  fetch?: typeof fetch;
}

/** `body` is sent as JSON; `query` skips undefined values; `auth: false` sends no token. */
export type RequestOptions = { body?: unknown; query?: Record<string, string | number | undefined>; auth?: boolean };

/**
 * JSON over HTTP to `/api/v1` with the stored access token. A 401 on an authenticated request
 * refreshes the token pair once (one refresh in flight at a time, shared by all callers) and
 * repeats the request; a refused refresh clears the store, calls `onSignedOut` and throws
 * `unauthorized`. Every failure is a ChorusError (`network` when the server was not reached).
 */
export class HttpClient {
  readonly #options: HttpClientOptions;
  readonly #fetch: typeof fetch;
  #refreshing: Promise<Tokens> | null = null;

  constructor(options: HttpClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  get tokens(): TokenStore {
    return this.#options.tokens;
  }

  /** Sends `method path` (relative to /api/v1) and returns the parsed JSON (undefined for 204). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    const sent = auth ? this.tokens.get() : null;
    if (auth && !sent) throw new ChorusError('unauthorized', 'Not signed in', { status: 401 });
    try {
      return await this.#send<T>(method, path, options, sent?.accessToken);
    } catch (error) {
      if (!auth || !(error instanceof ChorusError) || error.status !== 401) throw error;
      const fresh = await this.refreshTokens(sent?.accessToken);
      return this.#send<T>(method, path, options, fresh.accessToken);
    }
  }

  /**
   * A valid-looking access token: the stored one, refreshed first when `rejected` is the one
   * stored (a WebSocket closed 4401 with it, or a request got 401). Throws unauthorized when signed out.
   */
  async refreshTokens(rejected?: string): Promise<Tokens> {
    const seen = this.tokens.get();
    if (!seen) throw new ChorusError('unauthorized', 'Not signed in', { status: 401 });
    // Another caller (or tab) already rotated the pair: use it.
    if (rejected !== undefined && seen.accessToken !== rejected) return seen;
    const run = async () => {
      // Read again inside the lock: a refresh token is spent once, whoever spends it.
      const current = this.tokens.get();
      if (!current) throw new ChorusError('unauthorized', 'Not signed in', { status: 401 });
      if (current.refreshToken !== seen.refreshToken) return current;
      return this.#refresh(current.refreshToken);
    };
    this.#refreshing ??= (this.#options.lock ? this.#options.lock(run) : run()).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(refreshToken: string): Promise<Tokens> {
    try {
      const result = await this.#send<AuthResult>('POST', '/auth/refresh', { body: { refreshToken } });
      this.tokens.set(result);
      return result;
    } catch (error) {
      if (error instanceof ChorusError && (error.status === 401 || error.status === 400)) {
        this.tokens.set(null);
        this.#options.onSignedOut?.();
        throw new ChorusError('unauthorized', 'Session expired: sign in again', { status: 401, cause: error });
      }
      throw error;
    }
  }

  async #send<T>(method: string, path: string, options: RequestOptions, accessToken?: string): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (accessToken) headers.authorization = `Bearer ${accessToken}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const query = Object.entries(options.query ?? {}).filter(
      (entry): entry is [string, string | number] => entry[1] !== undefined,
    );
    const search = query.length ? `?${new URLSearchParams(query.map(([key, value]) => [key, String(value)]))}` : '';
    let response: Response;
    try {
      response = await this.#fetch(`${this.#options.baseUrl}/api/v1${path}${search}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (cause) {
      throw new ChorusError('network', 'The server could not be reached', { cause });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ChorusError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`, {
        status: response.status,
        details: error?.details,
      });
    }
    return body as T;
  }
}
