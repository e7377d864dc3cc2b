import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiskStorage } from '../../src/attachments/attachment-storage.disk.ts';
import { S3Storage } from '../../src/attachments/attachment-storage.s3.ts';
import type { AttachmentStorage } from '../../src/attachments/attachment-storage.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

/** The contract every AttachmentStorage driver passes. */
function storageContract(name: string, open: () => Promise<{ storage: AttachmentStorage; close(): Promise<void> }>) {
  describe(`attachment storage: ${name}`, () => {
    let storage: AttachmentStorage;
    let close: () => Promise<void>;
    const workspace = '0190a0a0-0000-7000-8000-000000000001';

    before(async () => {
      ({ storage, close } = await open());
    });
    after(() => close());

    it('returns the bytes put, byte for byte, and replaces them on a second put', async () => {
      const key = `${workspace}/0190a0a0-0000-7000-8000-00000000000a`;
      const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, index) => index % 256));
      await storage.put(key, bytes, 'application/octet-stream');
      assert.deepEqual(await storage.get(key), bytes);
      await storage.put(key, Buffer.from('second'), 'text/plain');
      assert.equal((await storage.get(key)).toString(), 'second');
    });

    it('keeps a thumbnail key apart from its original', async () => {
      const key = `${workspace}/0190a0a0-0000-7000-8000-00000000000b`;
      await storage.put(key, Buffer.from('original'), 'image/png');
      await storage.put(`${key}.thumb`, Buffer.from('thumbnail'), 'image/webp');
      assert.equal((await storage.get(key)).toString(), 'original');
      assert.equal((await storage.get(`${key}.thumb`)).toString(), 'thumbnail');
    });

    it('deletes, after which get throws; deleting an absent key is fine', async () => {
      const key = `${workspace}/0190a0a0-0000-7000-8000-00000000000c`;
      await storage.put(key, Buffer.from('gone soon'), 'text/plain');
      await storage.delete(key);
      await assert.rejects(storage.get(key));
      await storage.delete(key);
      await assert.rejects(storage.get(`${workspace}/0190a0a0-0000-7000-8000-00000000000d`));
    });
  });
}

storageContract('disk', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'chorus-storage-'));
  return { storage: new DiskStorage(dataDir), close: async () => rmSync(dataDir, { recursive: true, force: true }) };
});

storageContract('S3 (a real s3rver process)', async () => {
  const server: S3Server = await startS3Server();
  const storage = new S3Storage({
    bucket: server.bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  return { storage, close: () => server.close() };
});
