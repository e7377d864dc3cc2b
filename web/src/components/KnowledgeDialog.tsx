import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { KnowledgeBase, KnowledgeDocument } from '../client/index.ts';
import { useStore } from '../state/store-context.tsx';
import { Dialog } from './Dialog.tsx';

const statusLabels: Record<KnowledgeDocument['status'], string> = {
  queued: 'Queued',
  processing: 'Processing',
  ready: 'Ready',
  failed: 'Failed',
};

/**
 * Knowledge bases: create one, pick one, upload documents (text, Markdown, HTML, PDF) and watch
 * their ingestion status (refreshed every second while any is unfinished).
 */
export function KnowledgeDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const [bases, setBases] = useState<KnowledgeBase[]>([]);
  const [selected, setSelected] = useState<string>('');
  const [documents, setDocuments] = useState<KnowledgeDocument[]>([]);
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<string | null>(null);
  const report = (caught: unknown) => setError(caught instanceof Error ? caught.message : String(caught));

  const loadBases = useCallback(async () => {
    const page = await store.api.listKnowledgeBases();
    setBases(page.items);
    setSelected((current) => current || page.items[0]?.id || '');
  }, [store]);

  useEffect(() => {
    loadBases().catch(report);
  }, [loadBases]);

  const unfinished = documents.some((document) => document.status === 'queued' || document.status === 'processing');
  useEffect(() => {
    if (!selected) return;
    let current = true;
    const load = () =>
      store.api.listDocuments(selected).then((page) => {
        if (current) setDocuments(page.items);
      }, report);
    void load();
    const timer = unfinished ? setInterval(load, 1_000) : undefined;
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [store, selected, unfinished]);

  async function create(event: FormEvent) {
    event.preventDefault();
    try {
      const base = await store.api.createKnowledgeBase({ name: name.trim() });
      setName('');
      setSelected(base.id);
      await loadBases();
      setError(null);
    } catch (caught) {
      report(caught);
    }
  }

  async function upload(event: FormEvent) {
    event.preventDefault();
    if (!file || !selected) return;
    try {
      const document = await store.api.uploadDocument(selected, file);
      setDocuments((current) => [document, ...current]);
      setFile(null);
      setError(null);
    } catch (caught) {
      report(caught);
    }
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
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
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
              </li>
            ))}
          </ul>
        )}
      </div>
    </Dialog>
  );
}
