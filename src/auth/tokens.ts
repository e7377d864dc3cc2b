import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../errors/app-error.ts';

const algorithm = 'HS256';
const issuer = 'chorus';
const audience = 'chorus-api';
/** RFC 9068 JWT access-token media type; checked so an ID token or other JWT is never accepted. */
const tokenType = 'at+jwt';
const accessTokenTtlSeconds = 15 * 60;
export const refreshTokenTtlMs = 30 * 24 * 60 * 60 * 1000;

/** Who an access token speaks for. */
export interface AccessClaims {
  userId: string;
  workspaceId: string;
  /** Seconds since the epoch at which the token expires. */
  expiresAt: number;
}

/** Signs and verifies access tokens with a pinned algorithm (HS256) and checked `typ`, `iss`, `aud`, `exp`. */
export class TokenSigner {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  /**
   * A 32-byte key for `purpose` (e.g. "mcp-headers"), derived from the server secret with
   * HKDF-SHA256, so features can encrypt at rest without a second secret to manage.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, 'chorus', purpose, 32));
  }

  /** A signed access token for `userId` in `workspaceId`, valid `ttlSeconds` (default 15 min). */
  async signAccessToken(userId: string, workspaceId: string, ttlSeconds = accessTokenTtlSeconds): Promise<string> {
    return new SignJWT({ ws: workspaceId })
      .setProtectedHeader({ alg: algorithm, typ: tokenType })
      .setSubject(userId)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.#key);
  }

  /** Verifies a token. Throws AppError `unauthorized` for any malformed, tampered, expired or foreign token. */
  async verifyAccessToken(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [algorithm],
        issuer,
        audience,
        typ: tokenType,
        requiredClaims: ['sub', 'exp', 'ws'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.ws !== 'string') throw new Error('bad claims');
      return { userId: payload.sub, workspaceId: payload.ws, expiresAt: payload.exp! };
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw new AppError('unauthorized', expired ? 'Access token expired' : 'Invalid access token', { cause: error });
    }
  }
}

/**
 * The JWT secret: the configured one, or (embedded mode) one generated on first start and kept in
 * `<dataDir>/jwt-secret` with mode 0600, so tokens survive a restart.
 */
export function resolveJwtSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** A random opaque secret (base64url, 256 bits) for refresh tokens, invites and API keys. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 hex of a high-entropy secret; such secrets need no slow hash. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
