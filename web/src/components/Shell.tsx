import { useEffect, useState } from 'react';
import { navigate, useRoute } from '../state/router.ts';
import { useChat, useStore } from '../state/store-context.tsx';
import { AgentsDialog } from './AgentsDialog.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { ConversationView } from './ConversationView.tsx';
import { MessageSearch } from './MessageSearch.tsx';
import { InviteDialog } from './InviteDialog.tsx';
import { KnowledgeDialog } from './KnowledgeDialog.tsx';
import { NewConversationDialog } from './NewConversationDialog.tsx';
import { SettingsDialog } from './SettingsDialog.tsx';
import { ToolsDialog } from './ToolsDialog.tsx';

type OpenDialog = 'conversation' | 'agents' | 'invite' | 'knowledge' | 'tools' | 'settings' | null;

/** The signed-in layout: inbox beside the open conversation (one at a time on a phone). */
export function Shell() {
  const store = useStore();
  const { conversationId, messageSeq } = useRoute();
  const me = useChat((state) => state.me);
  const workspace = useChat((state) => state.workspace);
  const notice = useChat((state) => state.notice);
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const unread = useChat((state) => state.inbox.reduce((total, entry) => total + entry.unreadCount, 0));

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Chorus` : 'Chorus';
  }, [unread]);

  useEffect(() => {
    void store.openConversation(conversationId);
  }, [store, conversationId]);

  return (
    <div className="shell" data-view={conversationId ? 'conversation' : 'inbox'}>
      <aside className="sidebar" aria-label="Conversations">
        <header className="sidebar-header">
          <div>
            <p className="workspace-name">{workspace?.name || workspace?.slug}</p>
            <p className="me">
              {me?.displayName} <span className="muted">@{me?.handle}</span>
            </p>
          </div>
          <div className="header-actions">
            <button type="button" className="ghost" onClick={() => setDialog('settings')}>
              Settings
            </button>
            <button type="button" className="ghost" onClick={() => void store.signOut().then(() => navigate('/'))}>
              Sign out
            </button>
          </div>
        </header>
        <ConnectionBanner />
        <div className="sidebar-actions">
          <button type="button" className="primary" onClick={() => setDialog('conversation')}>
            New conversation
          </button>
          <button type="button" onClick={() => setDialog('agents')}>
            Agents
          </button>
          <button type="button" onClick={() => setDialog('knowledge')}>
            Knowledge
          </button>
          <button type="button" onClick={() => setDialog('tools')}>
            Tools
          </button>
          <button type="button" onClick={() => setDialog('invite')}>
            Invite
          </button>
        </div>
        <MessageSearch activeId={conversationId} />
      </aside>
      <main className="main" aria-label="Conversation">
        {notice && (
          <div className="notice-bar" role="alert">
            <span>{notice}</span>
            <button type="button" className="ghost" onClick={() => store.dismissNotice()} aria-label="Dismiss">
              ×
            </button>
          </div>
        )}
        {conversationId ? (
          <ConversationView key={conversationId} conversationId={conversationId} focusSeq={messageSeq} />
        ) : (
          <div className="empty-state">
            <h2>Welcome to Chorus</h2>
            <p>Pick a conversation, or start one with a colleague or an agent.</p>
          </div>
        )}
      </main>
      {dialog === 'conversation' && <NewConversationDialog onClose={() => setDialog(null)} />}
      {dialog === 'agents' && <AgentsDialog onClose={() => setDialog(null)} />}
      {dialog === 'invite' && <InviteDialog onClose={() => setDialog(null)} />}
      {dialog === 'knowledge' && <KnowledgeDialog onClose={() => setDialog(null)} />}
      {dialog === 'tools' && <ToolsDialog onClose={() => setDialog(null)} />}
      {dialog === 'settings' && <SettingsDialog onClose={() => setDialog(null)} />}
    </div>
  );
}
