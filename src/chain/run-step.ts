export type { RunStep } from '../wire/run.ts';

/** Abort reason for an explicit cancel (WebSocket `cancel`, POST /runs/:id/cancel). */
export class RunCancelled extends Error {
  override name = 'RunCancelled';
}

/** Abort reason when this process stops mid-run; the reply ends `interrupted`. */
export class ServerStopping extends Error {
  override name = 'ServerStopping';
}
