import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelSafeName, parseToolRef, resultText } from './agent-tools.ts';

describe('agent tool refs', () => {
  it('parses mcp:<server>/<tool> and mcp:<server>/*', () => {
    assert.deepEqual(parseToolRef('mcp:files/read_file'), { server: 'files', tool: 'read_file' });
    assert.deepEqual(parseToolRef('mcp:files/*'), { server: 'files', tool: '*' });
    assert.equal(parseToolRef('files/read'), undefined);
    assert.equal(parseToolRef('mcp:Files/read'), undefined);
    assert.equal(parseToolRef('mcp:files/a/b'), undefined);
  });

  it('makes model-safe unique names', () => {
    const taken = new Set<string>();
    assert.equal(modelSafeName('files', 'read.file', taken), 'files__read_file');
    assert.equal(modelSafeName('files', 'read_file', taken), 'files__read_file_2');
    const long = modelSafeName('s', 'x'.repeat(100), taken);
    assert.equal(long.length, 64);
  });

  it('joins the text blocks of a result', () => {
    assert.equal(
      resultText({
        content: [
          { type: 'text', text: 'a' },
          { type: 'image', data: '' },
          { type: 'text', text: 'b' },
        ],
        isError: false,
      }),
      'a\nb',
    );
  });
});
