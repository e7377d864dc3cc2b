import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { KnowledgeBase, KnowledgeChunk, KnowledgeDocument } from '../client/index.ts';
import { errorText } from '../format.ts';
import { useStore } from '../state/store-context.tsx';
import { ErrorNotice, useAction } from './action.tsx';
import { Dialog } from './Dialog.tsx';

const statusLabels: Record<KnowledgeDocument['status'], string> = {
  queued: 'Queued',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
};

/**
 * Knowledge bases: create one, pick one, add documents (upload text, Markdown, HTML, PDF, or a
 * page by its URL) and watch their ingestion status (refreshed every second while any is
 * unfinished); delete a document or the whole base (asked twice); try a search to see the
 * passages an agent would be given.
 */
export function KnowledgeDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const [bases, setBases] = useState<KnowledgeBase[]>([]);
  const [selected, setSelected] = useState<string>('');
  const [documents, setDocuments] = useState<KnowledgeDocument[]>([]);
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [url, setUrl] = useState('');
  const [query, setQuery] = useState('');
  const [passages, setPassages] = useState<KnowledgeChunk[] | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const { error, setError, run } = useAction();

  const loadBases = useCallback(async () => {
    const page = await store.api.listKnowledgeBases();
    setBases(page.items);
    setSelected((current) => (page.items.some((base) => base.id === current) ? current : page.items[0]?.id || ''));
  }, [store]);

  useEffect(() => {
    void run(loadBases);
  }, [run, loadBases]);

  const unfinished = documents.some((document) => document.status === 'queued' || document.status === 'processing');
  useEffect(() => {
    if (!selected) return;
    let current = true;
    const load = () =>
      store.api.listDocuments(selected).then(
        (page) => {
          if (current) setDocuments(page.items);
        },
        (caught: unknown) => setError(errorText(caught)),
      );
    void load();
    const timer = unfinished ? setInterval(load, 1_000) : undefined;
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [store, selected, unfinished, setError]);

  function create(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      const base = await store.api.createKnowledgeBase({ name: name.trim() });
      setName('');
      setSelected(base.id);
      await loadBases();
    });
  }

  function addUrl(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      const document = await store.api.addUrlDocument(selected, { url: url.trim() });
      setDocuments((current) => [document, ...current]);
      setUrl('');
    });
  }

  function search(event: FormEvent) {
    event.preventDefault();
    void run(async () => setPassages(await store.api.searchKnowledgeBase(selected, query.trim())));
  }

  async function deleteDocument(documentId: string) {
    if (await run(() => store.api.deleteDocument(selected, documentId))) {
      setConfirming(null);
      setDocuments((current) => current.filter((document) => document.id !== documentId));
    }
  }

  /** Deletes the selected base; the next one is selected, whose documents the effect above loads. */
  async function deleteBase() {
    if (await run(() => store.api.deleteKnowledgeBase(selected).then(loadBases))) setConfirming(null);
  }

  function upload(event: FormEvent) {
    event.preventDefault();
    if (!file || !selected) return;
    void run(async () => {
      const document = await store.api.uploadDocument(selected, file);
      setDocuments((current) => [document, ...current]);
      setFile(null);
    });
  }

  return (
    <Dialog title="Knowledge bases" onClose={onClose}>
      <div className="stack">
        <form onSubmit={create} className="inline-form">
          <label>
            New knowledge base
            <input value={name} onChange={(event) => setName(event.target.value)} required placeholder="Handbook" />
          </label>
          <button type="submit">Create</button>
        </form>
        {bases.length > 0 && (
          <label>
            Knowledge base
            <select value={selected} onChange={(event) => setSelected(event.target.value)}>
              {bases.map((base) => (
                <option key={base.id} value={base.id}>
                  {base.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {selected && (
          <form onSubmit={upload} className="inline-form">
            <label>
              File to upload
              <input
                type="file"
                accept=".txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf"
                onChange={(event) => setFile(event.target.files?.[0] ?? null)}
              />
            </label>
            <button type="submit" disabled={!file}>
              Upload
            </button>
          </form>
        )}
        {selected && (
          <form onSubmit={addUrl} className="inline-form">
            <label>
              Or a page by its address
              <input
                type="url"
                value={url}
                onChange={(event) => setUrl(event.target.value)}
                required
                placeholder="https://example.com/handbook"
              />
            </label>
            <button type="submit">Add page</button>
          </form>
        )}
        <ErrorNotice error={error} />
        {selected && (
          <ul className="documents" aria-label="Documents">
            {documents.map((document) => (
              <li key={document.id} data-status={document.status}>
                <strong>{document.title}</strong>{' '}
                <span className="muted">
                  {statusLabels[document.status]}
                  {document.status === 'processing' ? ` ${Math.round(document.progress * 100)}%` : ''}
                  {document.status === 'ready'
                    ? ` · ${document.chunkCount} ${document.chunkCount === 1 ? 'chunk' : 'chunks'}`
                    : ''}
                </span>
                {document.error && <p className="error-text">{document.error}</p>}
                {confirming === document.id ? (
                  <span className="row-actions">
                    <button type="button" className="small danger" onClick={() => void deleteDocument(document.id)}>
                      Delete {document.title}
                    </button>
                    <button type="button" className="small" onClick={() => setConfirming(null)}>
                      Keep
                    </button>
                  </span>
                ) : (
                  <button
                    type="button"
                    className="small"
                    aria-label={`Delete ${document.title}`}
                    onClick={() => setConfirming(document.id)}
                  >
                    Delete
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {selected && documents.some((document) => document.status === 'ready') && (
          <form onSubmit={search} className="inline-form" aria-label="Try a search">
            <label>
              Try a search
              <input
                type="search"
                value={query}
                onChange={(event) => setQuery(event.target.value)}
                required
                placeholder="What agents would be asked"
              />
            </label>
            <button type="submit">Search</button>
          </form>
        )}
        {passages && (
          <ol className="passages" aria-label="Passages">
            {passages.length === 0 && <li className="muted">Nothing in this knowledge base matches.</li>}
            {passages.map((passage) => (
              <li key={passage.chunkId}>
                <strong>{passage.documentTitle}</strong> <span className="muted">part {passage.position + 1}</span>
                <p>{passage.text.length > 280 ? `${passage.text.slice(0, 280)}…` : passage.text}</p>
              </li>
            ))}
          </ol>
        )}
        {selected &&
          (confirming === selected ? (
            <div className="row-actions">
              <button type="button" className="small danger" onClick={() => void deleteBase()}>
                Delete the knowledge base and its documents
              </button>
              <button type="button" className="small" onClick={() => setConfirming(null)}>
                Keep
              </button>
            </div>
          ) : (
            <button type="button" className="small delete-base" onClick={() => setConfirming(selected)}>
              Delete this knowledge base
            </button>
          ))}
      </div>
    </Dialog>
  );
}
