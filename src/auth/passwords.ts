import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { AppError } from '../errors/app-error.ts';

/** OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1. */
const argon2idOptions = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longest accepted password in UTF-8 bytes; longer input is refused before hashing. */
export const maxPasswordBytes = 256;
export const minPasswordLength = 8;

/**
 * Bounds concurrent argon2 work: each hash holds 19 MiB, so a burst of logins queues here
 * instead of exhausting memory. When `maxQueued` callers already wait, further ones get 429.
 */
class HashingGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  readonly maxConcurrent: number;
  readonly maxQueued: number;

  constructor(maxConcurrent: number, maxQueued: number) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.maxConcurrent) {
      if (this.#waiting.length >= this.maxQueued) {
        throw new AppError('rate_limited', 'Too many sign-in attempts in progress; try again shortly', { retryAfterMs: 1_000 });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

const gate = new HashingGate(2, 256);

function checkLength(password: string): void {
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) {
    throw new AppError('invalid_request', `Password must be at most ${maxPasswordBytes} bytes`);
  }
}

/** Hashes with argon2id into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Throws invalid_request, rate_limited. */
export async function hashPassword(password: string): Promise<string> {
  checkLength(password);
  return gate.run(() => hash(password, argon2idOptions));
}

/** True when `password` matches the PHC `passwordHash`. Over-long input is refused before hashing. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  checkLength(password);
  return gate.run(() => verify(passwordHash, password));
}

/** A fixed hash to verify against when a handle does not exist, so timing does not reveal which handles exist. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hash('chorus-dummy-password', argon2idOptions);
  return dummyHash;
}
