import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConversationSequencer } from '../../src/realtime/conversation-sequencer.ts';
import { OutboundEvent } from '../../src/realtime/outbound-event.ts';

const message = (seq: number) => new OutboundEvent({ type: 'message', message: { conversationId: 'c', seq } });
const delta = (text: string) => new OutboundEvent({ type: 'message.delta', conversationId: 'c', messageId: 'm', delta: text });
const describeEvent = (event: OutboundEvent) => (event.seq === undefined ? String(event.frame.delta) : event.seq);

function setup(store: number[] = [], holdMs = 20) {
  const emitted: Array<number | string> = [];
  const loads: Array<[number, number]> = [];
  let settle: () => void = () => {};
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const sequencer = new ConversationSequencer('c', {
    holdMs,
    loadGap: async (_id, afterSeq, beforeSeq) => {
      loads.push([afterSeq, beforeSeq]);
      setImmediate(settle);
      return store.filter((seq) => seq > afterSeq && seq < beforeSeq).map(message);
    },
    emit: (event) => emitted.push(describeEvent(event)),
    onError: (error) => assert.fail(String(error)),
  });
  return { sequencer, emitted, loads, settled };
}

describe('conversation sequencer', () => {
  it('emits in-order messages and other events immediately', () => {
    const { sequencer, emitted } = setup();
    sequencer.setBase(10);
    sequencer.push(message(11));
    sequencer.push(delta('a'));
    sequencer.push(message(12));
    assert.deepEqual(emitted, [11, 'a', 12]);
  });

  it('puts two messages published out of seq order back in order, with later events behind them', () => {
    const { sequencer, emitted, loads } = setup();
    sequencer.setBase(10);
    sequencer.push(message(12));
    sequencer.push(delta('after 12'));
    assert.deepEqual(emitted, []);
    sequencer.push(message(11));
    assert.deepEqual(emitted, [11, 12, 'after 12']);
    assert.deepEqual(loads, [], 'no store read when the predecessor arrives in time');
  });

  it('drops a late copy of a seq already emitted', () => {
    const { sequencer, emitted } = setup();
    sequencer.setBase(10);
    sequencer.push(message(11));
    sequencer.push(message(11));
    sequencer.push(message(9));
    assert.deepEqual(emitted, [11]);
  });

  it('fills a gap from the store when the predecessor never arrives', async () => {
    const { sequencer, emitted, loads, settled } = setup([11, 12]);
    sequencer.setBase(10);
    sequencer.push(message(13));
    await settled;
    assert.deepEqual(loads, [[10, 13]]);
    assert.deepEqual(emitted, [11, 12, 13]);
    sequencer.push(message(12));
    assert.deepEqual(emitted, [11, 12, 13], 'the late original is dropped');
    sequencer.close();
  });

  it('queues events until the base is known and never drops a live arrival at or below it', () => {
    const { sequencer, emitted } = setup();
    sequencer.push(message(5));
    sequencer.push(delta('x'));
    assert.deepEqual(emitted, []);
    sequencer.setBase(5);
    assert.deepEqual(emitted, [5, 'x']);
  });

  it('accepts the next message as is when the base could not be read', () => {
    const { sequencer, emitted } = setup();
    sequencer.setBase(undefined);
    sequencer.push(message(42));
    sequencer.push(message(43));
    assert.deepEqual(emitted, [42, 43]);
  });
});
