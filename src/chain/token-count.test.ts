import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countTokens } from 'gpt-tokenizer';
import { countTextTokens } from './token-count.ts';

const direct = (text: string) => countTokens(text, { disallowedSpecial: new Set() });

describe('countTextTokens', () => {
  it("counts as the o200k tokenizer does, short and long texts, special tokens' text included", () => {
    for (const text of ['', 'hello world', 'hello world '.repeat(100), '<|endoftext|> is plain text here '.repeat(5)]) {
      assert.equal(countTextTokens(text), direct(text), text.slice(0, 20));
    }
  });

  it('answers a repeated text from its cache with the same count, and keeps texts one character apart apart', () => {
    const base = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    for (const text of [base, base, `${base}!`, base.slice(0, -1), [base].join('')]) {
      assert.equal(countTextTokens(text), direct(text));
    }
  });

  it('keeps counting correctly past the cache capacity (8 M characters)', () => {
    const texts = Array.from({ length: 60 }, (_, index) => `${index} `.padEnd(200_000, 'abc '));
    const first = texts.map((text) => countTextTokens(text));
    assert.deepEqual(
      texts.map((text) => countTextTokens(text)),
      first,
    );
    assert.deepEqual(first.slice(0, 3), texts.slice(0, 3).map(direct));
  });
});
