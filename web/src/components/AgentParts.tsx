import { useState, type FormEvent } from 'react';
import type { HumanRequestPart, Message, ToolCallPart } from '../client/index.ts';
import { useChat, useStore } from '../state/store-context.tsx';

const toolStates: Record<ToolCallPart['state'], string> = {
  running: 'calling',
  done: 'called',
  error: 'failed',
  'awaiting-approval': 'waiting for approval to call',
  denied: 'denied',
};

const requestStates: Record<HumanRequestPart['status'], string> = {
  pending: 'Waiting for an answer',
  approved: 'Approved',
  denied: 'Denied',
  answered: 'Answered',
  expired: 'Expired unanswered',
  cancelled: 'Cancelled',
};

/**
 * An agent message's tool calls (collapsible: "calling X with …", then the result) and its
 * requests to people (Approve / Deny, or an answer box for a question, for the member addressed;
 * a status line for everyone else).
 */
export function AgentParts(props: { message: Message }) {
  const parts = props.message.parts;
  const tools = parts.filter((part): part is ToolCallPart => part.type === 'tool-call');
  const requests = parts.filter((part): part is HumanRequestPart => part.type === 'human-request');
  if (tools.length === 0 && requests.length === 0) return null;
  return (
    <div className="agent-parts">
      {tools.map((part) => (
        <details key={part.toolCallId} className={`tool-call tool-${part.state}`} data-state={part.state}>
          <summary>
            {toolStates[part.state]} <code>{part.name}</code>
          </summary>
          <pre className="tool-args">{JSON.stringify(part.args, null, 2)}</pre>
          {part.result && (
            <pre className={part.result.isError ? 'tool-result error-text' : 'tool-result'}>{part.result.text}</pre>
          )}
          {part.error && <p className="error-text">{part.error}</p>}
        </details>
      ))}
      {requests.map((part) => (
        <HumanRequest key={part.requestId} part={part} message={props.message} />
      ))}
    </div>
  );
}

function HumanRequest(props: { part: HumanRequestPart; message: Message }) {
  const { part } = props;
  const store = useStore();
  const myId = useChat((state) => state.me?.id ?? '');
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const answer = (decision: 'approve' | 'deny') => {
    setSent(true);
    store.api.answerApproval(part.runId, part.requestId, decision, part.argsHash).then(
      () => setError(null),
      (reason: unknown) => {
        setSent(false);
        setError(reason instanceof Error ? reason.message : String(reason));
      },
    );
  };
  const forMe = part.addressedTo === myId && part.status === 'pending';
  return (
    <div className="human-request" role="group" aria-label={part.kind === 'approval' ? 'Approval request' : 'Question'}>
      {part.kind === 'approval' ? (
        <p>
          Approve <code>{part.toolName}</code> with <code>{JSON.stringify(part.args)}</code>?
        </p>
      ) : (
        <p>{part.question}</p>
      )}
      {forMe && part.kind === 'approval' ? (
        <div className="message-actions">
          <button type="button" className="small" disabled={sent} onClick={() => answer('approve')}>
            Approve
          </button>
          <button type="button" className="small" disabled={sent} onClick={() => answer('deny')}>
            Deny
          </button>
        </div>
      ) : forMe ? (
        <AnswerBox conversationId={props.message.conversationId} questionId={props.message.id} />
      ) : (
        <p className="muted request-status">{requestStates[part.status]}</p>
      )}
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}

/**
 * The addressed member's answer to a `call_human` question: sent as a thread reply to the question
 * message, which is what resumes the run (docs/agents.md); the request then shows `Answered`.
 */
function AnswerBox(props: { conversationId: string; questionId: string }) {
  const store = useStore();
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const content = text.trim();
    if (!content || sending) return;
    setSending(true);
    store.api
      .postMessage(props.conversationId, { content, threadRootId: props.questionId, clientMsgId: crypto.randomUUID() })
      .then(
        () => {
          setText('');
          setError(null);
        },
        (reason: unknown) => setError(reason instanceof Error ? reason.message : String(reason)),
      )
      .finally(() => setSending(false));
  };
  return (
    <form className="answer-box" onSubmit={submit}>
      <input
        aria-label="Your answer"
        placeholder="Your answer (sent as a thread reply)"
        value={text}
        onChange={(event) => setText(event.target.value)}
        disabled={sending}
      />
      <button type="submit" className="small" disabled={sending || text.trim() === ''}>
        Answer
      </button>
      {error && <p className="error-text">{error}</p>}
    </form>
  );
}
