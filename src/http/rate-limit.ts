import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors/app-error.ts';

/**
 * Token-bucket-like limits from rate-limiter-flexible: `perSecond` sustained, with a burst of up to
 * ten seconds' worth spread over ten seconds. `perSecond = 0` turns limiting off.
 */
export class RateLimits {
  readonly #general: BurstyRateLimiter | undefined;
  readonly #auth: RateLimiterAbstract | undefined;

  constructor(perSecond: number) {
    if (perSecond <= 0) return;
    this.#general = new BurstyRateLimiter(
      new RateLimiterMemory({ keyPrefix: 'rl', points: Math.ceil(perSecond), duration: 1 }),
      new RateLimiterMemory({ keyPrefix: 'rl-burst', points: Math.ceil(perSecond * 2), duration: 10 }),
    );
    // Sign-in and registration are stricter: they cost an argon2 hash and invite guessing.
    this.#auth = new RateLimiterMemory({ keyPrefix: 'rl-auth', points: Math.max(5, Math.ceil(perSecond / 2)), duration: 60 });
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
