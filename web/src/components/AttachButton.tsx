import { useRef, useState } from 'react';
import { useStore } from '../state/store-context.tsx';

/** Picks a file, uploads it to the conversation and sends it as a message named after the file. */
export function AttachButton({ conversationId }: { conversationId: string }) {
  const store = useStore();
  const input = useRef<HTMLInputElement>(null);
  const [status, setStatus] = useState<string | null>(null);
  const attach = async (file: File) => {
    setStatus(`Uploading ${file.name}…`);
    try {
      const part = await store.api.uploadAttachment(conversationId, file);
      await store.api.postMessage(conversationId, {
        content: file.name,
        attachmentIds: [part.attachmentId],
        clientMsgId: crypto.randomUUID(),
      });
      setStatus(null);
    } catch (reason) {
      setStatus(reason instanceof Error ? reason.message : String(reason));
    }
  };
  return (
    <div className="attach">
      <label className="small">
        Attach file
        <input
          ref={input}
          type="file"
          className="sr-only"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void attach(file);
            event.target.value = '';
          }}
        />
      </label>
      {status && <span role="status">{status}</span>}
    </div>
  );
}
