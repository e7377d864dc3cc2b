import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { corkUntilNextFlush, type Corkable } from './cork.ts';

/** A Corkable that records when it was uncorked. */
function target(): Corkable & { corked: boolean; uncorkedAt: number | undefined } {
  return {
    corked: false,
    uncorkedAt: undefined,
    cork() {
      this.corked = true;
    },
    uncork() {
      this.corked = false;
      this.uncorkedAt = performance.now();
    },
  };
}

describe('corkUntilNextFlush', () => {
  it('flushes an idle server at the end of the turn and spaces a busy one’s flushes', async () => {
    await sleep(30); // no flush in the last interval
    const first = target();
    corkUntilNextFlush(first);
    assert.equal(first.corked, true);
    await nextTurn();
    assert.equal(first.corked, false, 'uncorked at the end of the turn');

    const second = target();
    corkUntilNextFlush(second);
    await sleep(50);
    assert.equal(second.corked, false);
    // The minimum interval is 4 ms, waited by a timer on libuv's loop clock, which counts whole
    // milliseconds and is read at the start of the loop turn: the timer may fire up to ~1 ms
    // early by performance.now(). A flush at the end of the turn would come ~0.1 ms after.
    const gap = second.uncorkedAt! - first.uncorkedAt!;
    assert.ok(gap >= 2.5, `a flush right after a flush waits for the minimum interval (${gap.toFixed(2)} ms)`);
  });

  it('uncorks every target of a flush once', async () => {
    await sleep(30);
    const targets = [target(), target(), target()];
    for (const each of targets) corkUntilNextFlush(each);
    await nextTurn();
    assert.ok(targets.every((each) => !each.corked));
  });

  it('uncorks a large flush 256 targets per turn, and flushes what was corked meanwhile after it', async () => {
    await sleep(30);
    const targets = Array.from({ length: 600 }, target);
    for (const each of targets) corkUntilNextFlush(each);
    await nextTurn();
    assert.equal(targets.filter((each) => !each.corked).length, 256, 'the first turn');
    const late = target();
    corkUntilNextFlush(late);
    await nextTurn();
    assert.equal(targets.filter((each) => !each.corked).length, 512, 'the second turn');
    await nextTurn();
    assert.ok(
      targets.every((each) => !each.corked),
      'the third turn',
    );
    assert.equal(late.corked, true, 'a target corked during the flush waits for the next one');
    await sleep(50);
    assert.equal(late.corked, false, 'and the next flush comes by itself');
  });
});
