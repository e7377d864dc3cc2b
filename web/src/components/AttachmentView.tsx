import { useEffect, useState } from 'react';
import type { AttachmentPart } from '../client/index.ts';
import { useStore } from '../state/store-context.tsx';

/** Formats a byte count for people: 980 B, 12.3 KB, 4.5 MB. */
function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * One attachment of a message: its thumbnail (images) and a download button. Bytes are fetched
 * with the access token and shown through object URLs, never by a plain `src` to the server.
 */
export function AttachmentView({ part }: { part: AttachmentPart }) {
  const store = useStore();
  const [thumbnail, setThumbnail] = useState<string | null>(null);
  useEffect(() => {
    if (!part.thumbnailUrl) return;
    let url: string | null = null;
    let current = true;
    store.api.fetchAttachment(part.thumbnailUrl).then(
      (blob) => {
        if (!current) return;
        url = URL.createObjectURL(blob);
        setThumbnail(url);
      },
      () => undefined,
    );
    return () => {
      current = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [part.thumbnailUrl, store]);

  const download = async () => {
    const url = URL.createObjectURL(await store.api.fetchAttachment(part.url));
    const link = document.createElement('a');
    link.href = url;
    link.download = part.name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  return (
    <figure className="attachment">
      {thumbnail && <img src={thumbnail} alt={part.name} className="attachment-thumbnail" />}
      <figcaption>
        <button type="button" className="small link" onClick={() => void download()}>
          Download {part.name}
        </button>{' '}
        <span className="muted">{formatSize(part.sizeBytes)}</span>
      </figcaption>
    </figure>
  );
}
