import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error.ts';

/**
 * Token-bucket-like limits from rate-limiter-flexible: `perSecond` sustained, with a burst of up to
 * twice that over ten seconds. `perSecond = 0` turns limiting off. With `redis` (distributed mode)
 * the counters are shared by every node; otherwise they live in this process.
 */
export class RateLimits {
  readonly #general: BurstyRateLimiter | undefined;
  readonly #auth: RateLimiterAbstract | undefined;

  constructor(perSecond: number, redis?: Redis) {
    if (perSecond <= 0) return;
    const limiter = (keyPrefix: string, points: number, duration: number) =>
      redis
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `chorus:${keyPrefix}`, points, duration })
        : new RateLimiterMemory({ keyPrefix, points, duration });
    this.#general = new BurstyRateLimiter(
      limiter('rl', Math.ceil(perSecond), 1),
      limiter('rl-burst', Math.ceil(perSecond * 2), 10),
    );
    // Sign-in and registration are stricter: they cost an argon2 hash and invite guessing.
    this.#auth = limiter('rl-auth', Math.max(5, Math.ceil(perSecond / 2)), 60);
  }

  /** Spends one request or frame for `key` (`user:<id>` or `ip:<addr>`). Throws rate_limited with retryAfterMs. */
  async consume(key: string): Promise<void> {
    if (this.#general) await spend(this.#general, key);
  }

  /** Spends one sign-in or registration attempt for `key`. Throws rate_limited with retryAfterMs. */
  async consumeAuth(key: string): Promise<void> {
    if (this.#auth) await spend(this.#auth, key);
  }
}

async function spend(limiter: RateLimiterAbstract | BurstyRateLimiter, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new AppError('rate_limited', 'Too many requests; slow down', { retryAfterMs: rejection.msBeforeNext });
    }
    throw rejection;
  }
}
