/**
 * Event-loop delay of a baseline server, measured like Chorus's `/metrics` does (prom-client's
 * `nodejs_eventloop_lag_p99_seconds`: `perf_hooks.monitorEventLoopDelay` at 10 ms resolution,
 * reset on every read). `GET /loop-delay` answers `{"p99Ms":…}` for the time since the last read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();

/** Answers `GET /loop-delay` and returns true; returns false for any other request. */
export function serveLoopDelay(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.url !== '/loop-delay') return false;
  const p99Ms = histogram.percentile(99) / 1e6;
  histogram.reset();
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ p99Ms }));
  return true;
}
