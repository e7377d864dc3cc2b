import type { Config } from '../config/config.ts';
import { DiskStorage } from './attachment-storage.disk.ts';
import { S3Storage } from './attachment-storage.s3.ts';

/**
 * Where attachment bytes live, by opaque key (`<workspaceId>/<attachmentId>[.thumb]`). Two
 * implementations: the data dir on local disk (embedded, default) and an S3-compatible bucket;
 * test/attachments/attachment-storage.test.ts is the contract both pass.
 */
export interface AttachmentStorage {
  /** Stores `bytes` under `key`, replacing what was there. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The bytes under `key`; throws when absent. */
  get(key: string): Promise<Buffer>;
  /** Removes `key`; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
}

/** S3 when `config.attachments.s3` is set, else `<dataDir>/attachments`. */
export function createAttachmentStorage(config: Config): AttachmentStorage {
  return config.attachments.s3 ? new S3Storage(config.attachments.s3) : new DiskStorage(config.dataDir);
}
