import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countTokens as direct } from 'gpt-tokenizer';
import { countTokens } from './token-count.ts';

const expected = (texts: string[]) => texts.map((text) => direct(text, { disallowedSpecial: new Set() }));

describe('countTokens', () => {
  it("counts as the o200k tokenizer does, in the caller's order, special tokens' text included", async () => {
    const texts = ['', 'hello world', 'hello world '.repeat(100), '<|endoftext|> is plain text here '.repeat(5), 'hello world'];
    assert.deepEqual(await countTokens(texts), expected(texts));
    assert.deepEqual(await countTokens([]), []);
  });

  it('answers repeated texts from its cache, and keeps texts one character apart apart', async () => {
    const base = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    const texts = [base, `${base}!`, base.slice(0, -1), [base].join('')];
    assert.deepEqual(await countTokens(texts), expected(texts));
    assert.deepEqual(await countTokens(texts), expected(texts));
  });

  it('keeps counting correctly past the cache capacity (8 M characters)', async () => {
    const texts = Array.from({ length: 60 }, (_, index) => `${index} `.padEnd(200_000, 'abc '));
    const first = await countTokens(texts);
    assert.deepEqual(await countTokens(texts), first);
    assert.deepEqual(first.slice(0, 3), expected(texts.slice(0, 3)));
  });

  it('counts on its own thread: timers keep firing while a large text is counted', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const text = 'Counting never blocks the event loop, however long the text is. '.repeat(40_000);
    const [tokens] = await countTokens([text]);
    clearInterval(timer);
    assert.equal(tokens, expected([text])[0]);
    assert.ok(ticks >= 3, `${ticks} timer ticks while 2.6 MB were counted (BPE on the event loop would allow none)`);
  });
});
