import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const version = 'v1';

/**
 * Encrypts an MCP server's HTTP headers with AES-256-GCM under `key` (32 bytes, from
 * `TokenSigner.deriveKey('mcp-headers')`). `boundTo` (the server id) is authenticated data, so a
 * ciphertext copied to another row does not decrypt. Returns `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export function encryptHeaders(key: Buffer, boundTo: string, headers: Record<string, string>): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(headers), 'utf8'), cipher.final()]);
  return [version, iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** Decrypts what `encryptHeaders` produced. Throws when the key, the binding or the data is wrong. */
export function decryptHeaders(key: Buffer, boundTo: string, sealed: string): Record<string, string> {
  const [tag, iv, authTag, ciphertext] = sealed.split('.');
  if (tag !== version || !iv || !authTag || ciphertext === undefined) throw new Error('unknown header encryption format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(boundTo));
  decipher.setAuthTag(Buffer.from(authTag, 'base64url'));
  const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  return JSON.parse(plain) as Record<string, string>;
}
