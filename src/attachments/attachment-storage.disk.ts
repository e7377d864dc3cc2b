import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AttachmentStorage } from './attachment-storage.ts';

/** Attachments as files under `<dataDir>/attachments/<key>` (written aside, then renamed into place). */
export class DiskStorage implements AttachmentStorage {
  readonly #root: string;

  constructor(dataDir: string) {
    this.#root = path.join(dataDir, 'attachments');
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const file = this.#path(key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.partial`, bytes);
    await rename(`${file}.partial`, file);
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.#path(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  #path(key: string): string {
    if (!/^[0-9a-f-]+\/[0-9a-f-]+(\.thumb)?$/.test(key)) throw new Error(`Bad attachment key ${key}`);
    return path.join(this.#root, key);
  }
}
