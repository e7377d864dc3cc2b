import { useCallback, useState } from 'react';
import type { Job } from '../client/index.ts';
import { formatTime } from '../format.ts';
import { useStore } from '../state/store-context.tsx';
import { ErrorNotice, useReloadingAction } from './action.tsx';

const stateLabels: Record<Job['state'], string> = { queued: 'queued', running: 'running', failed: 'failed for good' };

/**
 * The workspace's background jobs for its owners and admins: document ingestion, scheduled and
 * agent runs, each with its state, attempts, progress and last error (failed ones are
 * dead-lettered: no more retries). **Refresh** reads them again.
 */
export function JobList() {
  const store = useStore();
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const load = useCallback(async () => {
    setJobs((await store.api.listJobs({ limit: 50 })).items);
  }, [store]);
  const { busy, error, run } = useReloadingAction(load);

  return (
    <section className="stack" aria-labelledby="jobs-heading">
      <h3 id="jobs-heading">Background jobs of the workspace</h3>
      {jobs?.length === 0 && <p className="muted">No jobs queued, running or failed.</p>}
      <ul className="agent-list" aria-label="Jobs">
        {(jobs ?? []).map((job) => (
          <li key={`${job.kind}:${job.id}`} data-state={job.state}>
            <div>
              <span className="mono">{job.kind}</span> · {stateLabels[job.state]}
              {job.state === 'running' && job.progress > 0 && ` ${Math.round(job.progress * 100)}%`}
              <p className="muted">
                attempt {job.attempts} of {job.maxAttempts} · {formatTime(job.createdAt)}
              </p>
              {job.error && <p className="error-text">{job.error}</p>}
            </div>
          </li>
        ))}
      </ul>
      <button type="button" className="small" disabled={busy} onClick={() => void run(load)}>
        Refresh
      </button>
      <ErrorNotice error={error} />
    </section>
  );
}
