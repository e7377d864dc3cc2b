import { useChat, useStore } from '../state/store-context.tsx';

const labels = {
  idle: 'Starting…',
  connecting: 'Connecting…',
  open: 'Connected',
  waiting: 'Connection lost: reconnecting…',
  offline: 'Offline: messages will be sent when you are back',
  closed: 'Disconnected',
} as const;

/** The live connection's state, announced politely; offers to reconnect now while waiting. */
export function ConnectionBanner() {
  const store = useStore();
  const status = useChat((state) => state.connection);
  const queued = useChat((state) => state.outbox.length);
  return (
    <div className={`connection connection-${status}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      <span>
        {labels[status]}
        {queued > 0 && status !== 'open' ? ` (${queued} queued)` : ''}
      </span>
      {(status === 'waiting' || status === 'closed') && (
        <button type="button" className="link" onClick={() => store.realtime.reconnectNow()}>
          Reconnect now
        </button>
      )}
    </div>
  );
}
