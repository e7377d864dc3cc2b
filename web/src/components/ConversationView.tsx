import { useState } from 'react';
import { conversationTitle } from '../state/inbox.ts';
import { navigate } from '../state/router.ts';
import { useChat } from '../state/store-context.tsx';
import { AdviceTray } from './AdviceTray.tsx';
import { AttachButton } from './AttachButton.tsx';
import { BindingPanel } from './BindingPanel.tsx';
import { Composer } from './Composer.tsx';
import { MembersDialog } from './MembersDialog.tsx';
import { MessageList } from './MessageList.tsx';
import { SchedulesDialog } from './SchedulesDialog.tsx';
import { ThreadPanel } from './ThreadPanel.tsx';
import { TypingIndicator } from './TypingIndicator.tsx';

/** One conversation: header (members, schedules, my assistants), live message list, who is typing, my private advice, the composer, and the open thread beside it. */
export function ConversationView({ conversationId, focusSeq = null }: { conversationId: string; focusSeq?: number | null }) {
  const [panel, setPanel] = useState<'assistants' | 'members' | 'schedules' | null>(null);
  const entry = useChat((state) => state.inbox.find((candidate) => candidate.id === conversationId));
  const me = useChat((state) => state.me);
  const title = entry ? conversationTitle(entry, me?.id ?? '') : 'Conversation';
  const members = entry?.members ?? [];
  const presence = useChat((state) => state.presence);
  const loaded = useChat((state) => state.inboxLoaded && !!state.logs[conversationId]);
  const inboxLoaded = useChat((state) => state.inboxLoaded);
  if (inboxLoaded && !entry && !loaded) {
    return (
      <div className="empty-state" role="status">
        <h2>Conversation not available</h2>
        <p>It does not exist, or you are not a member.</p>
        <button type="button" onClick={() => navigate('/')}>
          Back to inbox
        </button>
      </div>
    );
  }
  return (
    <div className="conversation-layout">
      <section className="conversation" aria-labelledby="conversation-title">
        <header className="conversation-header">
          <button type="button" className="ghost back" onClick={() => navigate('/')} aria-label="Back to inbox">
            ←
          </button>
          <div>
            <h2 id="conversation-title">{title}</h2>
            <p className="muted members-line">
              {entry?.kind === 'group' ? 'Group · ' : ''}
              {members.map((member, index) => {
                const online = member.type === 'user' && (member.id === me?.id || presence[member.id] === 'online');
                return (
                  <span key={member.id} className="member">
                    {index > 0 ? ', ' : ''}
                    {member.type === 'agent' ? '✦ ' : ''}@{member.handle}
                    {online && <span className="online-dot" role="img" aria-label="online" />}
                  </span>
                );
              })}
            </p>
          </div>
          <div className="header-actions">
            {entry?.kind === 'group' && (
              <button type="button" className="ghost" onClick={() => setPanel('members')}>
                Members
              </button>
            )}
            <button type="button" className="ghost" onClick={() => setPanel('schedules')}>
              Schedules
            </button>
            <button type="button" className="ghost assistants" onClick={() => setPanel('assistants')}>
              My assistants
            </button>
          </div>
        </header>
        {panel === 'assistants' && <BindingPanel conversationId={conversationId} onClose={() => setPanel(null)} />}
        {panel === 'members' && entry && <MembersDialog conversation={entry} onClose={() => setPanel(null)} />}
        {panel === 'schedules' && entry && <SchedulesDialog conversation={entry} onClose={() => setPanel(null)} />}
        <MessageList conversationId={conversationId} focusSeq={focusSeq} />
        <TypingIndicator conversationId={conversationId} />
        <AdviceTray conversationId={conversationId} />
        <Composer conversationId={conversationId} />
        <AttachButton conversationId={conversationId} />
      </section>
      <ThreadPanel conversationId={conversationId} />
    </div>
  );
}
