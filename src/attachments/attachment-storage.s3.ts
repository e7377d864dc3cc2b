import type { S3Client } from '@aws-sdk/client-s3';
import type { AttachmentStorage } from './attachment-storage.ts';

/**
 * Attachments in an S3-compatible bucket (AWS, MinIO, Garage, R2…). With an `endpoint` (a
 * server other than AWS) addressing is path-style and checksums are only computed and validated
 * where an operation requires them: SDK versions since early 2025 send CRC32 checksums by default,
 * which several S3-compatible servers reject. Tested against a real s3rver process
 * (test/attachments/). The SDK (~30 MB resident once loaded) is imported on the first call, so
 * a server storing on disk never loads it.
 */
export class S3Storage implements AttachmentStorage {
  readonly #options: S3Options;
  #sdk: Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | undefined;

  constructor(options: S3Options) {
    this.#options = options;
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    const { client, sdk } = await this.#connect();
    await client.send(
      new sdk.PutObjectCommand({ Bucket: this.#options.bucket, Key: key, Body: bytes, ContentType: contentType }),
    );
  }

  async get(key: string): Promise<Buffer> {
    const { client, sdk } = await this.#connect();
    const object = await client.send(new sdk.GetObjectCommand({ Bucket: this.#options.bucket, Key: key }));
    if (!object.Body) throw new Error(`S3 object ${key} has no body`);
    return Buffer.from(await object.Body.transformToByteArray());
  }

  async delete(key: string): Promise<void> {
    const { client, sdk } = await this.#connect();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#options.bucket, Key: key }));
  }

  /** Loads the SDK and makes the client, once. */
  #connect(): Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
    this.#sdk ??= import('@aws-sdk/client-s3').then((sdk) => {
      const options = this.#options;
      const compatible = options.endpoint !== undefined;
      const client = new sdk.S3Client({
        region: options.region,
        endpoint: options.endpoint,
        forcePathStyle: compatible,
        ...(compatible ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
        credentials:
          options.accessKeyId && options.secretAccessKey
            ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
            : undefined,
      });
      return { client, sdk };
    });
    return this.#sdk;
  }
}

/** Bucket, region, and for a server other than AWS its endpoint; static credentials when given. */
interface S3Options {
  bucket: string;
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}
