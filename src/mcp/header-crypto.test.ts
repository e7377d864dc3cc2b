import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptHeaders, encryptHeaders } from './header-crypto.ts';

describe('MCP header encryption', () => {
  const key = randomBytes(32);

  it('round-trips headers and hides their values', () => {
    const sealed = encryptHeaders(key, 'server-1', { authorization: 'Bearer top-secret' });
    assert.doesNotMatch(sealed, /top-secret/);
    assert.deepEqual(decryptHeaders(key, 'server-1', sealed), { authorization: 'Bearer top-secret' });
  });

  it('refuses another key, another row binding, or tampered data', () => {
    const sealed = encryptHeaders(key, 'server-1', { a: 'b' });
    assert.throws(() => decryptHeaders(randomBytes(32), 'server-1', sealed));
    assert.throws(() => decryptHeaders(key, 'server-2', sealed));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => decryptHeaders(key, 'server-1', parts.join('.')));
  });
});
