import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { QueuedRun, RunExecutor, RunQueue } from '../../src/runs/run-queue.ts';

/**
 * A set of nodes sharing one queue namespace: `node(execute)` starts another node's queue. An
 * in-process implementation has one node (`maxNodes: 1`).
 */
export interface RunQueueCluster {
  maxNodes: number;
  node(execute: RunExecutor): RunQueue;
  close(): Promise<void>;
}

function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, open: () => resolve() };
}

/** Resolves once `predicate` holds (checked every 5 ms); rejects after `timeoutMs`. */
async function until(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The behaviour every RunQueue implementation promises (src/runs/run-queue.ts), as one suite;
 * `createCluster` makes a fresh namespace per call.
 */
export function runRunQueueContract(name: string, createCluster: () => Promise<RunQueueCluster>): void {
  describe(`run queue contract: ${name}`, () => {
    const open: RunQueueCluster[] = [];
    const fresh = async () => {
      const cluster = await createCluster();
      open.push(cluster);
      return cluster;
    };
    afterEach(async () => {
      for (const cluster of open.splice(0)) await cluster.close();
    });

    it('runs a mailbox one at a time in order, on every node, while other mailboxes never wait', async () => {
      const cluster = await fresh();
      const started: string[] = [];
      const finished: string[] = [];
      let running = new Map<string, number>();
      let most = 0;
      const holds = new Map<string, ReturnType<typeof gate>>();
      const execute: RunExecutor = async (run) => {
        const mailbox = run.runId.split('/')[0]!;
        running.set(mailbox, (running.get(mailbox) ?? 0) + 1);
        most = Math.max(most, running.get(mailbox)!);
        started.push(run.runId);
        await holds.get(run.runId)?.promise;
        running.set(mailbox, running.get(mailbox)! - 1);
        finished.push(run.runId);
      };
      const nodes = Array.from({ length: Math.min(cluster.maxNodes, 2) }, () => cluster.node(execute));
      const a = `a-${randomUUID()}`;
      const b = `b-${randomUUID()}`;
      const first = gate();
      holds.set(`${a}/0`, first);
      const submit = (node: RunQueue, mailbox: string, order: number) =>
        node.submit(mailbox, { runId: `${mailbox}/${order}`, order, depth: 0 } satisfies QueuedRun);
      await submit(nodes[0]!, a, 0);
      await until('the first run to start', () => started.includes(`${a}/0`));
      // Submitted while the first holds the mailbox, from every node.
      for (let order = 1; order <= 6; order++) await submit(nodes[order % nodes.length]!, a, order);
      await submit(nodes.at(-1)!, b, 0);
      await until('the other mailbox to run while the first is held', () => finished.includes(`${b}/0`));
      assert.equal(started.filter((id) => id.startsWith(a)).length, 1, 'nothing else of the held mailbox started');
      first.open();
      await until('the mailbox to drain', () => finished.filter((id) => id.startsWith(a)).length === 7);
      assert.deepEqual(
        started.filter((id) => id.startsWith(a)),
        Array.from({ length: 7 }, (_, order) => `${a}/${order}`),
      );
      assert.equal(most, 1, 'one run at a time per mailbox');
      running = new Map();
    });

    it('a run whose executor throws does not stop its mailbox', async () => {
      const cluster = await fresh();
      const seen: string[] = [];
      const node = cluster.node(async (run) => {
        seen.push(run.runId);
        if (run.runId.endsWith('/0')) throw new Error('exploded');
      });
      const mailbox = randomUUID();
      await node.submit(mailbox, { runId: `${mailbox}/0`, order: 1, depth: 0 });
      await node.submit(mailbox, { runId: `${mailbox}/1`, order: 2, depth: 3 });
      await until('both runs', () => seen.length === 2);
      assert.deepEqual(seen, [`${mailbox}/0`, `${mailbox}/1`]);
    });

    it('hands the executor the run depth', async () => {
      const cluster = await fresh();
      const got = Promise.withResolvers<QueuedRun>();
      const node = cluster.node(async (run) => got.resolve(run));
      await node.submit(randomUUID(), { runId: 'r1', order: 5, depth: 2 });
      const run = await got.promise;
      assert.deepEqual([run.runId, run.depth, run.order], ['r1', 2, 5]);
    });
  });
}
