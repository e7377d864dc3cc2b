import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AttachmentStorage } from './attachment-storage.ts';

/**
 * Attachments in an S3-compatible bucket (AWS, MinIO, Garage, R2…), path-style when an endpoint is
 * given. Not exercised by the test suite: no S3-compatible server is installable here.
 */
export class S3Storage implements AttachmentStorage {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { bucket: string; endpoint?: string; region: string; accessKeyId?: string; secretAccessKey?: string }) {
    this.#bucket = options.bucket;
    this.#client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.endpoint !== undefined,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
    });
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: bytes, ContentType: contentType }));
  }

  async get(key: string): Promise<Buffer> {
    const object = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
    if (!object.Body) throw new Error(`S3 object ${key} has no body`);
    return Buffer.from(await object.Body.transformToByteArray());
  }
}
