import { registerHooks } from 'node:module';

const requireConditions = ['require', 'node', 'default'];

/**
 * Makes every later `import … from 'drizzle-orm…'` load drizzle-orm's CommonJS build.
 * Measured on Node 24: importing the app with drizzle's ESM build (400+ small modules through the
 * ESM loader) leaves ~390 MB of RSS after GC; with the CommonJS build, ~220 MB. Same code, same
 * API: its CommonJS files annotate their exports, so named ESM imports keep working.
 * Call before the first import of drizzle-orm (src/cli.ts does, then imports the app dynamically).
 * See docs/decisions/0005-drizzle-commonjs-build.md.
 */
export function loadDrizzleAsCommonJs(): void {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/')) {
        return nextResolve(specifier, { ...context, conditions: requireConditions });
      }
      return nextResolve(specifier, context);
    },
  });
}
