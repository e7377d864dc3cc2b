import { useEffect, useState } from 'react';
import type { Run, RunStep } from '../client/index.ts';
import { errorText, formatTime } from '../format.ts';
import { useStore } from '../state/store-context.tsx';
import { ErrorNotice } from './action.tsx';
import { Dialog } from './Dialog.tsx';

const statusLabels: Record<Run['status'], string> = {
  queued: 'Queued',
  running: 'Running',
  waiting: 'Waiting for a person',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Stopped',
  interrupted: 'Interrupted',
};

/** Milliseconds between two ISO times as "840 ms" or "2.4 s"; "running" without an end. */
function duration(start: string | null, end: string | null): string {
  if (!start || !end) return 'running';
  const ms = Date.parse(end) - Date.parse(start);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/**
 * How an agent's reply was made: the run's status, model, tokens and time, then each step of its
 * action chain (accept, rag, generate, use_tool, …) with its time, tokens, error, input and output.
 * Re-read every second while the run is still going.
 */
export function RunDetailsDialog({ runId, onClose }: { runId: string; onClose: () => void }) {
  const store = useStore();
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<string | null>(null);
  const going = run === null || run.status === 'queued' || run.status === 'running' || run.status === 'waiting';

  useEffect(() => {
    if (!going) return;
    let current = true;
    const load = () =>
      store.api.getRun(runId).then(
        (loaded) => current && setRun(loaded),
        (caught: unknown) => current && setError(errorText(caught)),
      );
    void load();
    const timer = setInterval(load, 1_000);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [store, runId, going]);

  return (
    <Dialog title="How this reply was made" onClose={onClose}>
      <div className="stack run-details">
        <ErrorNotice error={error} />
        {!run && !error && <p className="muted">Loading…</p>}
        {run && (
          <>
            <p className="run-summary" data-status={run.status}>
              <strong>{statusLabels[run.status]}</strong>
              {run.usage?.model && <> · {run.usage.model}</>}
              {run.usage && (
                <>
                  {' '}
                  · {run.usage.inputTokens} tokens in, {run.usage.outputTokens} out
                </>
              )}
              {' · '}
              {duration(run.startedAt, run.finishedAt)}
              {run.startedAt && <span className="muted"> · started {formatTime(run.startedAt)}</span>}
            </p>
            {run.error && <p className="error-text">{run.error}</p>}
            <ol className="run-steps" aria-label="Steps">
              {run.steps.map((step, index) => (
                <StepItem key={index} step={step} />
              ))}
            </ol>
          </>
        )}
      </div>
    </Dialog>
  );
}

/** One step: its type (and declared id), time, tokens and error; input and output on demand. */
function StepItem({ step }: { step: RunStep }) {
  return (
    <li data-type={step.type} data-failed={step.error !== null}>
      <details>
        <summary>
          <span className="mono">{step.type}</span>
          {step.id && <span className="muted"> “{step.id}”</span>} · {duration(step.startedAt, step.finishedAt)}
          {step.usage && (
            <span className="muted">
              {' '}
              · {step.usage.inputTokens} + {step.usage.outputTokens} tokens
            </span>
          )}
          {step.error && <span className="error-text"> · {step.error}</span>}
        </summary>
        <p className="muted">Input</p>
        <pre className="mono">{json(step.input)}</pre>
        <p className="muted">Output</p>
        <pre className="mono">{step.output === null ? '—' : json(step.output)}</pre>
      </details>
    </li>
  );
}
