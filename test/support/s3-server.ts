import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A real S3-compatible server (s3rver) in a child process on a loopback port, with one bucket. */
export interface S3Server {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  bucket: string;
  /** Where s3rver keeps its objects (one file per object plus metadata files). */
  directory: string;
  /** s3rver's fixed credentials. */
  accessKeyId: string;
  secretAccessKey: string;
  /** The config keys that point Chorus at this server. */
  env: Record<string, string>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const startTimeoutMs = 20_000;

/**
 * Starts `s3rver` (the npm package's own CLI) on 127.0.0.1, port 0, storing under a new temp dir,
 * with `bucket` created. Resolves once it prints its address; rejects if it exits or stays silent
 * for 20 s. `close()` stops it and removes its files.
 */
export async function startS3Server(bucket = 'chorus-test'): Promise<S3Server> {
  const directory = mkdtempSync(path.join(tmpdir(), 's3rver-'));
  const cli = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const child = spawn(
    process.execPath,
    [cli, '--directory', directory, '--address', '127.0.0.1', '--port', '0', '--silent', '--configure-bucket', bucket],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${output}`)), startTimeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${output}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    bucket,
    directory,
    ...credentials,
    env: {
      CHORUS_S3_BUCKET: bucket,
      CHORUS_S3_ENDPOINT: endpoint,
      CHORUS_S3_REGION: 'us-east-1',
      CHORUS_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      CHORUS_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
