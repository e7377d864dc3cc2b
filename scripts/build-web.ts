import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = path.join(root, 'web');
const distIndex = path.join(webDir, 'dist', 'index.html');
/**
 * What the built client depends on: a change to any of these makes web/dist stale. src/wire is the
 * server's wire types and constants, which the client imports (docs/decisions/0019).
 */
const sources = [
  ...['src', 'index.html', 'vite.config.ts', 'public'].map((entry) => path.join(webDir, entry)),
  path.join(root, 'src', 'wire'),
];

function newestMtimeMs(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtimeMs(path.join(target, entry)));
  return newest;
}

/** True when web/dist/index.html is missing or older than any web source file. */
export function isWebBuildStale(): boolean {
  if (!existsSync(distIndex)) return true;
  const built = statSync(distIndex).mtimeMs;
  return sources.some((source) => newestMtimeMs(source) > built);
}

/**
 * Builds the web client into web/dist with Vite when it is missing or stale (or always, with
 * `force`). Resolves once the files are written; rejects with Vite's error when the build fails.
 */
export async function ensureWebBuilt(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && !isWebBuildStale()) return false;
  const { build } = await import('vite');
  await build({ root: webDir, logLevel: options.quiet ? 'warn' : 'info' });
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const force = process.argv.includes('--force');
  ensureWebBuilt({ force, quiet: process.argv.includes('--quiet') }).then(
    (built) => {
      if (!built) console.log('web client is up to date (web/dist)');
    },
    (error: unknown) => {
      console.error('web client build failed:', error);
      process.exit(1);
    },
  );
}
