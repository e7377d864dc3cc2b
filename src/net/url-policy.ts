import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors/app-error.ts';

/**
 * Outbound URL policy (SSRF guard, docs/decisions/0008-outbound-url-policy.md).
 *
 * Before Chorus connects to a URL an admin or user supplied (MCP servers, knowledge imports), the
 * host is resolved (every address) and refused when any address is loopback, private, link-local,
 * CGNAT, multicast, unspecified, reserved, documentation, or an IPv4-mapped/NAT64 form of those,
 * unless the admin allow-list (CHORUS_OUTBOUND_ALLOW_HOSTS) names the host, host:port, or a CIDR
 * containing the address.
 */

const blockedRanges: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'CGNAT'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b:1::', 48, 'ipv6', 'NAT64'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['fc00::', 7, 'ipv6', 'private (unique local)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const blocked = new BlockList();
for (const [address, prefix, family] of blockedRanges) blocked.addSubnet(address, prefix, family);

/** The admin allow-list, parsed once from CHORUS_OUTBOUND_ALLOW_HOSTS entries. */
export interface OutboundPolicy {
  /** Lowercased hostnames (or IP literals) allowed on any port. */
  hosts: ReadonlySet<string>;
  /** Lowercased `host:port` pairs allowed on that port only. */
  hostPorts: ReadonlySet<string>;
  /** Addresses inside these CIDRs are allowed. */
  cidrs: BlockList;
}

/**
 * Parses allow-list entries: `example.com`, `example.com:8080`, `[::1]:3000`, `10.0.0.0/8`, `127.0.0.1`.
 * Throws invalid_request naming a malformed CIDR.
 */
export function createOutboundPolicy(entries: readonly string[]): OutboundPolicy {
  const hosts = new Set<string>();
  const hostPorts = new Set<string>();
  const cidrs = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry.includes('/')) {
      const [address = '', prefixText = ''] = entry.split('/');
      const family = isIP(address);
      const prefix = Number(prefixText);
      if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new AppError('invalid_request', `CHORUS_OUTBOUND_ALLOW_HOSTS: "${raw}" is not a valid CIDR`);
      }
      cidrs.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      if (bracketed[2]) hostPorts.add(`${bracketed[1]}:${bracketed[2]}`);
      else hosts.add(bracketed[1]!);
      continue;
    }
    if (isIP(entry) === 6) hosts.add(entry);
    else if (/:\d+$/.test(entry)) hostPorts.add(entry);
    else hosts.add(entry);
  }
  return { hosts, hostPorts, cidrs };
}

/** The rule an address breaks (`"loopback"`, `"private"` …), or undefined when it is public. */
export function blockedRangeOf(address: string): string | undefined {
  const family = isIP(address);
  if (!family) return 'not an IP address';
  const normalized = family === 6 ? embeddedIPv4(address) : undefined;
  if (normalized) return blockedRangeOf(normalized);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (!blocked.check(address, type)) return undefined;
  for (const [range, prefix, rangeFamily, rule] of blockedRanges) {
    if (rangeFamily !== type) continue;
    const single = new BlockList();
    single.addSubnet(range, prefix, rangeFamily);
    if (single.check(address, type)) return rule;
  }
  return 'reserved';
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIPv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const match = /^(?:::ffff:|::|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(lower);
  if (!match) return undefined;
  if (match[1]) return match[1];
  const high = parseInt(match[2]!, 16);
  const low = parseInt(match[3]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Resolves a hostname to every address (an IP literal resolves to itself). Injected in tests. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** `dns.lookup` with every address, in the resolver's order. */
export const resolveWithDns: ResolveHost = async (hostname) => {
  const results = await lookup(hostname, { all: true, verbatim: true });
  return results.map((result) => result.address);
};

/**
 * Parses an outbound URL without resolving it. Throws invalid_request when it is not a URL, not
 * http/https, or carries credentials.
 */
export function parseOutboundUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new AppError('invalid_request', `"${String(input)}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('invalid_request', `Outbound URLs must be http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username || url.password)
    throw new AppError('invalid_request', 'Outbound URLs must not carry credentials; use headers');
  return url;
}

/**
 * Resolves `hostname` (brackets of an IPv6 literal allowed) and returns every address, in the
 * resolver's order, once each passes the policy for `port`. Throws invalid_request (unresolvable,
 * no addresses) or forbidden (an address is in a blocked range and neither the host, host:port nor
 * a CIDR containing it is allow-listed); the message names the rule, e.g. `"127.0.0.1" is loopback`.
 */
export async function checkHostAddresses(
  hostname: string,
  port: string,
  policy: OutboundPolicy,
  resolve: ResolveHost = resolveWithDns,
): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const hostAllowed = policy.hosts.has(host) || policy.hostPorts.has(`${host}:${port}`);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (error) {
    throw new AppError('invalid_request', `Cannot resolve host "${host}"`, { cause: error });
  }
  if (addresses.length === 0) throw new AppError('invalid_request', `Host "${host}" has no addresses`);
  if (hostAllowed) return addresses;
  for (const address of addresses) {
    const rule = blockedRangeOf(address);
    if (!rule) continue;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (policy.cidrs.check(address, family)) continue;
    const shown = address === host ? `"${host}"` : `"${host}" resolves to ${address}, which`;
    throw new AppError(
      'forbidden',
      `Outbound URL refused: ${shown} is ${rule}; an admin can allow it with CHORUS_OUTBOUND_ALLOW_HOSTS`,
      { details: { host, address, rule } },
    );
  }
  return addresses;
}

/**
 * Checks an outbound http(s) URL and returns it parsed with the addresses it resolved to (used when
 * a URL is saved; connections go through `createGuardedFetch`, which checks again as it connects).
 * Throws the invalid_request of `parseOutboundUrl` and the errors of `checkHostAddresses`.
 */
export async function checkOutboundUrl(
  input: string | URL,
  policy: OutboundPolicy,
  resolve: ResolveHost = resolveWithDns,
): Promise<{ url: URL; addresses: string[] }> {
  const url = parseOutboundUrl(input);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return { url, addresses: await checkHostAddresses(url.hostname, port, policy, resolve) };
}
