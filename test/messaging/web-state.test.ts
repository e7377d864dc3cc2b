import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../web/src/client/index.ts';
import { initialState, receiveUpdated, type ChatState } from '../../web/src/state/chat-state.ts';

const message = (seq: number, fields: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  conversationId: 'c',
  seq,
  threadRootId: null,
  sender: { type: 'user', id: 'u', handle: 'alice' },
  onBehalfOf: null,
  content: `message ${seq}`,
  parts: [],
  status: 'complete',
  error: null,
  usage: null,
  runId: null,
  clientMsgId: null,
  createdAt: '2026-12-06T00:00:00.000Z',
  editedAt: null,
  deletedAt: null,
  updatedSeq: 0,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  forwardedFrom: null,
  ...fields,
});

describe('web state: message.updated', () => {
  const state: ChatState = { ...initialState, logs: { c: { items: [message(10), message(11)], hasOlder: true } } };

  it('replaces a held message with a newer change', () => {
    const next = receiveUpdated(state, message(10, { content: 'edited', updatedSeq: 3 }));
    assert.equal(next.logs.c.items[0].content, 'edited');
    const stale = receiveUpdated(next, message(10, { content: 'older change', updatedSeq: 2 }));
    assert.equal(stale.logs.c.items[0].content, 'edited', 'an older change never undoes a newer one');
  });

  it('does not insert a changed message older than the loaded history', () => {
    const next = receiveUpdated(state, message(2, { content: 'reacted to', updatedSeq: 4 }));
    assert.deepEqual(
      next.logs.c.items.map((item) => item.seq),
      [10, 11],
    );
  });
});
