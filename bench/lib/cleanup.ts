/**
 * Cleanup on interruption: servers, load generators, data directories and databases register a
 * task here while they exist; on SIGINT or SIGTERM every registered task runs (at most 20 s)
 * before the process exits with 130, so an interrupted run leaves nothing behind.
 */
const tasks = new Set<() => Promise<void> | void>();
let interrupted = false;

/** Whether SIGINT or SIGTERM arrived (results are then incomplete and must not be written). */
export function isInterrupted(): boolean {
  return interrupted;
}

/** Registers `task`; the returned function unregisters it (call it once the task has run). */
export function onInterrupt(task: () => Promise<void> | void): () => void {
  tasks.add(task);
  return () => tasks.delete(task);
}

/** Installs the SIGINT/SIGTERM handlers. */
export function installInterruptCleanup(): void {
  const handler = () => {
    if (interrupted) return;
    interrupted = true;
    const force = setTimeout(() => process.exit(130), 20_000);
    force.unref();
    void Promise.allSettled([...tasks].map(async (task) => task())).then(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
