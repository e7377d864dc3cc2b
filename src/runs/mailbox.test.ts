import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mailboxes, OrderedTasks } from './mailbox.ts';

describe('Mailboxes', () => {
  it('runs one key in order, one at a time, while other keys run alongside; errors do not stop the queue', async () => {
    const errors: unknown[] = [];
    const boxes = new Mailboxes((error) => errors.push(error));
    const log: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let otherDone!: () => void;
    const otherFinished = new Promise<void>((resolve) => (otherDone = resolve));
    const allDone = new Promise<void>((resolve) => {
      boxes.push('a', async () => {
        log.push('a1 start');
        await firstHeld;
        log.push('a1 end');
      });
      boxes.push('a', async () => {
        throw new Error('a2 failed');
      });
      boxes.push('a', async () => {
        log.push('a3');
        resolve();
      });
    });
    boxes.push('b', async () => {
      log.push('b1');
      otherDone();
    });
    await otherFinished;
    assert.deepEqual(log, ['a1 start', 'b1']);
    releaseFirst();
    await allDone;
    assert.deepEqual(log, ['a1 start', 'b1', 'a1 end', 'a3']);
    assert.equal((errors[0] as Error).message, 'a2 failed');
  });
});

describe('OrderedTasks', () => {
  it('finishes tasks of one key in call order even when earlier ones are slower', async () => {
    const tasks = new OrderedTasks(() => {});
    const order: number[] = [];
    const slow = tasks.run('k', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push(1);
    });
    const fast = tasks.run('k', async () => {
      order.push(2);
      return 'second';
    });
    assert.equal(await fast, 'second');
    await slow;
    assert.deepEqual(order, [1, 2]);
  });
});
