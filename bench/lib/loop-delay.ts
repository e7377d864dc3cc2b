/**
 * Reads a server's p99 event-loop delay since the previous read (`perf_hooks.monitorEventLoopDelay`,
 * 10 ms resolution, reset on each read). Chorus exposes it through prom-client on `GET /metrics`
 * (`chorus_nodejs_eventloop_lag_p99_seconds`, reset on every scrape); the baselines answer
 * `GET /loop-delay` (bench/servers/loop-delay.ts) with the same histogram. Resolves with
 * milliseconds, or null when the server did not answer within 2 s.
 */
export type LoopDelayReader = () => Promise<number | null>;

/** A reader for `baseUrl` (e.g. `http://127.0.0.1:4000`); `chorus` selects the `/metrics` form. */
export function loopDelayReader(baseUrl: string, kind: 'chorus' | 'baseline'): LoopDelayReader {
  return async () => {
    try {
      const response = await fetch(`${baseUrl}${kind === 'chorus' ? '/metrics' : '/loop-delay'}`, {
        signal: AbortSignal.timeout(2_000),
      });
      const ms =
        kind === 'baseline'
          ? ((await response.json()) as { p99Ms: number }).p99Ms
          : Number(/^chorus_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)$/m.exec(await response.text())?.[1]) * 1000;
      return Number.isFinite(ms) ? Math.round(ms * 100) / 100 : null;
    } catch {
      return null;
    }
  };
}
