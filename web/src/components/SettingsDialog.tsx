import { ApiKeys } from './ApiKeys.tsx';
import { Dialog } from './Dialog.tsx';
import { MemoryList } from './MemoryList.tsx';

/** My own settings: what agents remember about me, and my API keys. */
export function SettingsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Your settings" onClose={onClose}>
      <div className="stack">
        <MemoryList />
        <ApiKeys />
      </div>
    </Dialog>
  );
}
