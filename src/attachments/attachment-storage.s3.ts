import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AttachmentStorage } from './attachment-storage.ts';

/**
 * Attachments in an S3-compatible bucket (AWS, MinIO, Garage, R2…). With an `endpoint` (a
 * server other than AWS) addressing is path-style and checksums are only computed and validated
 * where an operation requires them: SDK versions since early 2025 send CRC32 checksums by default,
 * which several S3-compatible servers reject. Tested against a real s3rver process
 * (test/attachments/).
 */
export class S3Storage implements AttachmentStorage {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { bucket: string; endpoint?: string; region: string; accessKeyId?: string; secretAccessKey?: string }) {
    this.#bucket = options.bucket;
    const compatible = options.endpoint !== undefined;
    this.#client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: compatible,
      ...(compatible ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
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

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }
}
