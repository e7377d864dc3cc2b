import { useCallback, useState, type FormEvent } from 'react';
import type { InboxEntry, Schedule } from '../client/index.ts';
import { formatTime } from '../format.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useReloadingAction } from './action.tsx';
import { Dialog } from './Dialog.tsx';

const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/**
 * Scheduled runs in one conversation: at each occurrence of a cron expression (in a time zone)
 * the prompt is posted as the scheduler's creator's message and the agent answers it. Lists the
 * schedules I can see here (mine; an admin's: everyone's) with the next run, **Pause** / **Resume**
 * (missed occurrences are skipped) and **Delete**; the form adds one for an agent of the conversation.
 */
export function SchedulesDialog({ conversation, onClose }: { conversation: InboxEntry; onClose: () => void }) {
  const store = useStore();
  const users = useChat((state) => state.users);
  const agentMembers = conversation.members.filter((member) => member.type === 'agent');
  const [schedules, setSchedules] = useState<Schedule[]>([]);
  const [agentId, setAgentId] = useState(agentMembers[0]?.id ?? '');
  const [cron, setCron] = useState('0 9 * * 1-5');
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [prompt, setPrompt] = useState('');
  const nameOf = (id: string) =>
    conversation.members.find((member) => member.id === id)?.displayName ??
    users.find((user) => user.id === id)?.displayName ??
    id;

  const load = useCallback(async () => {
    const page = await store.api.listSchedules();
    setSchedules(page.items.filter((schedule) => schedule.conversationId === conversation.id));
  }, [store, conversation.id]);
  const { busy, error, change: run } = useReloadingAction(load);

  async function add(event: FormEvent) {
    event.preventDefault();
    const created = await run(() =>
      store.api.createSchedule({
        agentId,
        conversationId: conversation.id,
        cron: cron.trim(),
        timezone: timezone.trim(),
        prompt: prompt.trim(),
      }),
    );
    if (created) setPrompt('');
  }

  return (
    <Dialog title="Schedules" onClose={onClose}>
      <div className="stack">
        {schedules.length === 0 && <p className="muted">No schedules in this conversation.</p>}
        <ul className="agent-list" aria-label="Schedules">
          {schedules.map((schedule) => (
            <li key={schedule.id} aria-label={schedule.prompt} data-paused={schedule.paused}>
              <div>
                <strong>{nameOf(schedule.agentId)}</strong>: “{schedule.prompt}”
                <p className="muted">
                  <span className="mono">{schedule.cron}</span> ({schedule.timezone}) ·{' '}
                  {schedule.paused
                    ? 'paused'
                    : schedule.nextRunAt
                      ? `next ${formatTime(schedule.nextRunAt)}`
                      : 'no more occurrences'}
                  {schedule.lastFiredAt && ` · last ${formatTime(schedule.lastFiredAt)}`} · by {nameOf(schedule.createdBy)}
                </p>
              </div>
              <div className="row-actions">
                <button
                  type="button"
                  className="small"
                  disabled={busy}
                  onClick={() => void run(() => store.api.setSchedulePaused(schedule.id, !schedule.paused))}
                >
                  {schedule.paused ? 'Resume' : 'Pause'}
                </button>
                <button
                  type="button"
                  className="small"
                  disabled={busy}
                  onClick={() => void run(() => store.api.deleteSchedule(schedule.id))}
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
        {agentMembers.length === 0 ? (
          <p className="muted">Add an agent to this conversation to schedule it.</p>
        ) : (
          <form onSubmit={add} className="stack" aria-label="New schedule">
            <h3>New schedule</h3>
            <label>
              Agent
              <select value={agentId} onChange={(event) => setAgentId(event.target.value)}>
                {agentMembers.map((agent) => (
                  <option key={agent.id} value={agent.id}>
                    {agent.displayName} (@{agent.handle})
                  </option>
                ))}
              </select>
            </label>
            <div className="field-row">
              <label>
                When (cron: minute hour day month weekday)
                <input
                  value={cron}
                  onChange={(event) => setCron(event.target.value)}
                  required
                  className="mono"
                  placeholder="0 9 * * 1-5"
                />
              </label>
              <label>
                Time zone
                <input
                  value={timezone}
                  onChange={(event) => setTimezone(event.target.value)}
                  required
                  placeholder="Europe/Paris"
                />
              </label>
            </div>
            <label>
              Prompt (posted as your message each time)
              <textarea
                value={prompt}
                onChange={(event) => setPrompt(event.target.value)}
                required
                rows={3}
                placeholder="Summarise yesterday's tickets."
              />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              Add schedule
            </button>
          </form>
        )}
        <ErrorNotice error={error} />
      </div>
    </Dialog>
  );
}
