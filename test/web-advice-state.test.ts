import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Advice } from '../web/src/client/index.ts';
import {
  appendAdviceDelta,
  hasAdviceGap,
  mergeLoadedAdvice,
  startAdvice,
  upsertAdvice,
  type AdviceByConversation,
} from '../web/src/state/advice.ts';

function advice(fields: Partial<Advice> = {}): Advice {
  return {
    id: 'a1',
    conversationId: 'c1',
    userId: 'u1',
    agentId: 'g1',
    bindingId: null,
    runId: 'r1',
    triggerMessageId: 'm1',
    kind: 'suggestion',
    content: '',
    status: 'streaming',
    error: null,
    usage: null,
    sentMessageId: null,
    createdAt: '2026-12-06T10:00:00.000Z',
    updatedAt: '2026-12-06T10:00:00.000Z',
    ...fields,
  };
}

const contentOf = (all: AdviceByConversation) => all.c1?.[0]?.content;

describe('web client advice state', () => {
  test('places each advice.delta at its offset, dropping what the content already covers', () => {
    let all = upsertAdvice({}, advice());
    all = appendAdviceDelta(all, 'c1', 'a1', 'Say ', 0);
    all = appendAdviceDelta(all, 'c1', 'a1', 'hi', 4);
    assert.equal(contentOf(all), 'Say hi');
    // Joined mid-suggestion: the loaded content already holds part of the next delta.
    all = upsertAdvice({}, advice({ content: 'Say h' }));
    all = appendAdviceDelta(all, 'c1', 'a1', 'hi there', 4);
    assert.equal(contentOf(all), 'Say hi there');
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), false);
  });

  test('keeps a delta beyond the content aside until a loaded snapshot covers the gap', () => {
    let all = upsertAdvice({}, advice({ content: 'Say' }));
    all = appendAdviceDelta(all, 'c1', 'a1', 'noon', 10);
    assert.equal(contentOf(all), 'Say', 'nothing is placed at the wrong position');
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), true);
    all = mergeLoadedAdvice(all, 'c1', [advice({ content: 'Say it at ', updatedAt: '2026-12-06T10:00:01.000Z' })]);
    assert.equal(contentOf(all), 'Say it at noon');
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), false);
  });

  test('a loaded snapshot behind the live deltas does not take text away', () => {
    let all = upsertAdvice({}, advice());
    all = appendAdviceDelta(all, 'c1', 'a1', 'Say it at noon', 0);
    all = mergeLoadedAdvice(all, 'c1', [advice({ content: 'Say', updatedAt: '2026-12-06T10:00:01.000Z' })]);
    assert.equal(contentOf(all), 'Say it at noon');
  });

  test('advice.done replaces the text and drops deltas kept aside; without offset a delta is appended', () => {
    let all = upsertAdvice({}, advice({ content: 'Sa' }));
    all = appendAdviceDelta(all, 'c1', 'a1', 'zzz', 9);
    all = upsertAdvice(all, advice({ content: 'Say it at noon', status: 'ready', updatedAt: '2026-12-06T10:00:02.000Z' }));
    assert.equal(contentOf(all), 'Say it at noon');
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), false);
    all = upsertAdvice({}, advice({ content: 'Say' }));
    assert.equal(contentOf(appendAdviceDelta(all, 'c1', 'a1', ' hi')), 'Say hi');
  });

  test('a page loaded before the advice finished does not bring it back to streaming', () => {
    let all = upsertAdvice({}, advice({ content: 'done text', status: 'ready', updatedAt: '2026-12-06T10:00:05.000Z' }));
    all = mergeLoadedAdvice(all, 'c1', [advice({ content: 'done', updatedAt: '2026-12-06T10:00:01.000Z' })]);
    assert.equal(all.c1?.[0]?.status, 'ready');
    assert.equal(contentOf(all), 'done text');
  });

  test("an advice frame for advice held restarts it: the first attempt's text and deltas go, an older page cannot bring them back", () => {
    let all = startAdvice({}, advice());
    all = appendAdviceDelta(all, 'c1', 'a1', 'First try', 0);
    all = appendAdviceDelta(all, 'c1', 'a1', ' far ahead', 40);
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), true);
    // Its worker died; the run restarts on another node into the same advice, reset to empty.
    const restarted = '2026-12-06T10:00:20.000Z';
    all = startAdvice(all, advice({ updatedAt: restarted }));
    assert.equal(contentOf(all), '');
    assert.equal(hasAdviceGap(all, 'c1', 'a1'), false, 'deltas of the first attempt are dropped');
    all = appendAdviceDelta(all, 'c1', 'a1', 'Second', 0);
    // A page loaded before the restart (older updatedAt, longer text) does not replace it...
    all = mergeLoadedAdvice(all, 'c1', [advice({ content: 'First try and more' })]);
    assert.equal(contentOf(all), 'Second');
    // ...while one loaded since merges as usual.
    all = mergeLoadedAdvice(all, 'c1', [advice({ content: 'Second try', updatedAt: restarted })]);
    assert.equal(contentOf(all), 'Second try');
    all = upsertAdvice(all, advice({ content: 'Second try!', status: 'ready', updatedAt: '2026-12-06T10:00:25.000Z' }));
    assert.deepEqual([all.c1?.[0]?.status, contentOf(all)], ['ready', 'Second try!']);
  });
});
