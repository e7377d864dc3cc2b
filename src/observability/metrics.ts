import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus metrics, served at GET /metrics. One per app so tests stay isolated. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chorus_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'chorus_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'chorus_http_request_duration_seconds',
      help: 'HTTP request latency in seconds by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    messagesPosted: new Counter({
      name: 'chorus_messages_total',
      help: 'Messages stored, by sender type',
      labelNames: ['sender'] as const,
      registers: [registry],
    }),
    agentRuns: new Counter({
      name: 'chorus_agent_runs_total',
      help: 'Agent runs executed on this node, by the final status of their reply (none: ended before it started)',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'chorus_ws_connections',
      help: 'Open WebSocket connections',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
