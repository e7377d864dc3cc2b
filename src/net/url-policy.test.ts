import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors/app-error.ts';
import { blockedRangeOf, checkOutboundUrl, createOutboundPolicy } from './url-policy.ts';

const none = createOutboundPolicy([]);
const fakeDns = (answers: Record<string, string[]>) => async (host: string) => {
  const found = answers[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof AppError);
  return error;
}

describe('outbound URL policy', () => {
  it('names the rule of each blocked range', () => {
    assert.equal(blockedRangeOf('127.0.0.1'), 'loopback');
    assert.equal(blockedRangeOf('10.1.2.3'), 'private');
    assert.equal(blockedRangeOf('172.31.0.1'), 'private');
    assert.equal(blockedRangeOf('192.168.1.1'), 'private');
    assert.equal(blockedRangeOf('169.254.169.254'), 'link-local');
    assert.equal(blockedRangeOf('100.100.0.1'), 'CGNAT');
    assert.equal(blockedRangeOf('224.0.0.1'), 'multicast');
    assert.equal(blockedRangeOf('0.0.0.0'), 'unspecified');
    assert.equal(blockedRangeOf('::1'), 'loopback');
    assert.equal(blockedRangeOf('::'), 'unspecified');
    assert.equal(blockedRangeOf('fd00::1'), 'private (unique local)');
    assert.equal(blockedRangeOf('fe80::1'), 'link-local');
    assert.equal(blockedRangeOf('ff02::1'), 'multicast');
    assert.equal(blockedRangeOf('::ffff:127.0.0.1'), 'loopback');
    assert.equal(blockedRangeOf('::ffff:7f00:1'), 'loopback');
    assert.equal(blockedRangeOf('64:ff9b::a9fe:a9fe'), 'link-local');
    assert.equal(blockedRangeOf('8.8.8.8'), undefined);
    assert.equal(blockedRangeOf('2606:4700:4700::1111'), undefined);
    assert.equal(blockedRangeOf('::ffff:8.8.8.8'), undefined);
  });

  it('refuses loopback and private literals with forbidden naming the rule', async () => {
    const loopback = await refusal(checkOutboundUrl('http://127.0.0.1:8080/mcp', none));
    assert.equal(loopback.code, 'forbidden');
    assert.match(loopback.message, /loopback/);
    assert.match(loopback.message, /CHORUS_OUTBOUND_ALLOW_HOSTS/);
    assert.equal((await refusal(checkOutboundUrl('http://[::1]/', none))).code, 'forbidden');
    assert.equal((await refusal(checkOutboundUrl('http://[::ffff:10.0.0.1]/', none))).code, 'forbidden');
    assert.equal((await refusal(checkOutboundUrl('http://169.254.169.254/latest/meta-data', none))).code, 'forbidden');
  });

  it('refuses a hostname when any of its addresses is private', async () => {
    const dns = fakeDns({ 'mixed.example': ['93.184.216.34', '10.0.0.5'] });
    const error = await refusal(checkOutboundUrl('https://mixed.example/', none, dns));
    assert.equal(error.code, 'forbidden');
    assert.match(error.message, /resolves to 10\.0\.0\.5, which is private/);
  });

  it('accepts a public host and returns its addresses', async () => {
    const dns = fakeDns({ 'public.example': ['93.184.216.34'] });
    const { url, addresses } = await checkOutboundUrl('https://public.example/mcp', none, dns);
    assert.equal(url.hostname, 'public.example');
    assert.deepEqual(addresses, ['93.184.216.34']);
  });

  it('rejects other schemes, credentials and unresolvable hosts as invalid_request', async () => {
    assert.equal((await refusal(checkOutboundUrl('file:///etc/passwd', none))).code, 'invalid_request');
    assert.equal((await refusal(checkOutboundUrl('http://user:pw@public.example/', none))).code, 'invalid_request');
    assert.equal((await refusal(checkOutboundUrl('not a url', none))).code, 'invalid_request');
    assert.equal((await refusal(checkOutboundUrl('http://nowhere.example/', none, fakeDns({})))).code, 'invalid_request');
  });

  it('allows a host, a host:port (only on that port) or a CIDR from the allow-list', async () => {
    const dns = fakeDns({ 'mcp.internal': ['10.0.0.7'] });
    await checkOutboundUrl('http://mcp.internal/', createOutboundPolicy(['mcp.internal']), dns);
    await checkOutboundUrl('http://127.0.0.1:3000/', createOutboundPolicy(['127.0.0.1:3000']));
    await refusal(checkOutboundUrl('http://127.0.0.1:3001/', createOutboundPolicy(['127.0.0.1:3000'])));
    await checkOutboundUrl('http://[::1]:9/', createOutboundPolicy(['[::1]:9']));
    await checkOutboundUrl('http://mcp.internal/', createOutboundPolicy(['10.0.0.0/24']), dns);
    await refusal(checkOutboundUrl('http://mcp.internal/', createOutboundPolicy(['10.0.1.0/24']), dns));
    assert.throws(() => createOutboundPolicy(['10.0.0.0/40']), /not a valid CIDR/);
  });
});
