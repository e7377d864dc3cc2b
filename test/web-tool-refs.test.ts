import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { covers, setApproval, setTool, toolRef } from '../web/src/state/tool-refs.ts';

describe('web client: the agent form’s tool choice (web/src/state/tool-refs.ts)', () => {
  const none = { tools: [], approvals: [] };

  test('a ref is covered by itself or by its server’s *', () => {
    assert.equal(toolRef('web', 'echo'), 'mcp:web/echo');
    assert.equal(covers(['mcp:web/*'], 'mcp:web/echo'), true);
    assert.equal(covers(['mcp:web/echo'], 'mcp:web/echo'), true);
    assert.equal(covers(['mcp:web/echo'], 'mcp:web/fail'), false);
    assert.equal(covers(['mcp:web/*'], 'mcp:webhooks/echo'), false, 'another server whose name starts the same');
  });

  test('choosing all of a server’s tools replaces its single refs and keeps the approvals it covers', () => {
    let choice = setTool(none, 'mcp:web/echo', true);
    choice = setTool(choice, 'mcp:files/read', true);
    choice = setApproval(choice, 'mcp:web/echo', true);
    choice = setTool(choice, 'mcp:web/*', true);
    assert.deepEqual(choice, { tools: ['mcp:files/read', 'mcp:web/*'], approvals: ['mcp:web/echo'] });
  });

  test('dropping a tool drops the approvals nothing covers any more', () => {
    let choice = setTool(none, 'mcp:web/*', true);
    choice = setApproval(choice, 'mcp:web/echo', true);
    choice = setTool(choice, 'mcp:web/*', false);
    assert.deepEqual(choice, { tools: [], approvals: [] });
  });

  test('an approval needs the tool, and a server-wide approval replaces the single ones', () => {
    assert.deepEqual(setApproval(none, 'mcp:web/echo', true), none, 'not callable: no approval');
    let choice = setTool(none, 'mcp:web/*', true);
    choice = setApproval(choice, 'mcp:web/echo', true);
    choice = setApproval(choice, 'mcp:web/*', true);
    assert.deepEqual(choice.approvals, ['mcp:web/*']);
    assert.deepEqual(setApproval(choice, 'mcp:web/*', false).approvals, []);
  });
});
