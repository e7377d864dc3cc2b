import { useCallback, useState, type FormEvent } from 'react';
import type { McpServer, McpTool } from '../client/index.ts';
import { errorText } from '../format.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { ErrorNotice, useReloadingAction } from './action.tsx';
import { Dialog } from './Dialog.tsx';

/**
 * Parses "Name: value" lines into headers. Throws with the line at fault; blank lines are skipped.
 * Header values are sent once and stored encrypted; the server never returns them.
 */
function parseHeaderLines(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`Headers, line ${index + 1}: write "Name: value"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * MCP servers, whose tools agents use: each with its transport, address, state and tool catalogue
 * (**Show tools**, **Refresh**). Owners and admins add HTTP servers (Streamable HTTP or SSE, with
 * headers such as an API key), enable or disable them and delete them; servers from the config
 * file (stdio) are read-only. Everyone else sees the list.
 */
export function ToolsDialog({ onClose }: { onClose: () => void }) {
  const store = useStore();
  const me = useChat((state) => state.me);
  const isAdmin = me?.role === 'owner' || me?.role === 'admin';
  const [servers, setServers] = useState<McpServer[]>([]);
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [transport, setTransport] = useState<'streamable-http' | 'sse'>('streamable-http');
  const [headers, setHeaders] = useState('');

  const load = useCallback(async () => {
    setServers((await store.api.listMcpServers()).items);
  }, [store]);
  const { busy, error, change } = useReloadingAction(load);

  async function add(event: FormEvent) {
    event.preventDefault();
    const added = await change(() =>
      store.api.createMcpServer({ name: name.trim(), url: url.trim(), transport, headers: parseHeaderLines(headers) }),
    );
    if (!added) return;
    setName('');
    setUrl('');
    setHeaders('');
  }

  return (
    <Dialog title="Tools (MCP servers)" onClose={onClose}>
      <div className="stack">
        {servers.length === 0 && <p className="muted">No MCP servers yet. Agents use the tools of the servers added here.</p>}
        <ul className="server-list" aria-label="MCP servers">
          {servers.map((server) => (
            <ServerItem
              key={server.id}
              server={server}
              canChange={isAdmin && server.source === 'api'}
              onToggle={() => change(() => store.api.updateMcpServer(server.id, { enabled: !server.enabled }))}
              onDelete={() => change(() => store.api.deleteMcpServer(server.id))}
              onListed={() => void load().catch(() => undefined)}
            />
          ))}
        </ul>
        <ErrorNotice error={error} />
        {isAdmin ? (
          <form onSubmit={add} className="stack" aria-label="Add an MCP server">
            <h3>Add an MCP server</h3>
            <label>
              Server name
              <input
                value={name}
                onChange={(event) => setName(event.target.value)}
                required
                pattern="[a-z0-9][a-z0-9_\-]*"
                title='lowercase letters, digits, "_" and "-"'
                placeholder="github"
              />
            </label>
            <label>
              URL
              <input
                type="url"
                value={url}
                onChange={(event) => setUrl(event.target.value)}
                required
                placeholder="https://mcp.example.com/mcp"
              />
            </label>
            <label>
              Transport
              <select value={transport} onChange={(event) => setTransport(event.target.value as typeof transport)}>
                <option value="streamable-http">Streamable HTTP</option>
                <option value="sse">SSE (older servers)</option>
              </select>
            </label>
            <label>
              Headers (one "Name: value" per line; stored encrypted, never shown again)
              <textarea
                value={headers}
                onChange={(event) => setHeaders(event.target.value)}
                rows={2}
                className="mono"
                placeholder="Authorization: Bearer …"
              />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              Add server
            </button>
          </form>
        ) : (
          <p className="muted">Owners and admins add and change servers.</p>
        )}
      </div>
    </Dialog>
  );
}

/** One server: what and where it is, its tools on demand, and (admins) enable, disable, delete. */
function ServerItem({
  server,
  canChange,
  onToggle,
  onDelete,
  onListed,
}: {
  server: McpServer;
  canChange: boolean;
  onToggle: () => Promise<unknown>;
  onDelete: () => Promise<unknown>;
  /** After a listing: the server's tool count may have changed. */
  onListed: () => void;
}) {
  const store = useStore();
  const [tools, setTools] = useState<McpTool[] | null>(null);
  const [open, setOpen] = useState(false);
  const [listError, setListError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  async function list(refresh: boolean) {
    setListError(null);
    try {
      setTools(await store.api.listMcpTools(server.id, { refresh }));
      onListed();
    } catch (caught) {
      setListError(errorText(caught));
    }
  }

  return (
    <li className="server-item" aria-label={server.name} data-enabled={server.enabled}>
      <div>
        <strong>{server.name}</strong>{' '}
        <span className="muted">
          {server.transport} · {server.url ?? server.command}
          {server.source === 'config' && ' · from the config file'}
          {server.headerNames.length > 0 && ` · headers: ${server.headerNames.join(', ')}`}
          {server.toolCount !== null && ` · ${server.toolCount} ${server.toolCount === 1 ? 'tool' : 'tools'}`}
          {!server.enabled && ' · disabled'}
        </span>
      </div>
      <div className="row-actions">
        <button
          type="button"
          className="small"
          aria-expanded={open}
          onClick={() => {
            setOpen(!open);
            if (!open && tools === null) void list(false);
          }}
        >
          {open ? 'Hide tools' : 'Show tools'}
        </button>
        {canChange && (
          <button type="button" className="small" onClick={() => void onToggle()}>
            {server.enabled ? 'Disable' : 'Enable'}
          </button>
        )}
        {canChange &&
          (confirming ? (
            <>
              <button type="button" className="small danger" onClick={() => void onDelete()}>
                Delete {server.name}
              </button>
              <button type="button" className="small" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className="small" onClick={() => setConfirming(true)}>
              Delete
            </button>
          ))}
      </div>
      {open && (
        <div className="server-tools">
          {listError && <p className="error-text">Could not list its tools: {listError}</p>}
          {tools === null && !listError && <p className="muted">Listing tools…</p>}
          {tools && (
            <ul aria-label={`Tools of ${server.name}`}>
              {tools.map((tool) => (
                <li key={tool.name}>
                  <span className="mono">{tool.name}</span>
                  {tool.description && <span className="muted"> · {tool.description}</span>}
                </li>
              ))}
            </ul>
          )}
          <button type="button" className="small" onClick={() => void list(true)}>
            Refresh
          </button>
        </div>
      )}
    </li>
  );
}
