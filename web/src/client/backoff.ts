/** Reconnect delays: exponential from `initialMs`, capped at `maxMs`. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** 0.5 s doubling up to 30 s. */
export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * The wait before reconnect attempt `attempt` (0-based), in ms: `initialMs · 2^attempt` capped at
 * `maxMs`, then scaled by a random factor in [0.5, 1) so many clients dropped together do not
 * return together. `random` is injectable for tests.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = defaultBackoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}
