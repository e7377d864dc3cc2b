import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The core tables live in src/db/schema.ts; a feature folder may own its tables in its own schema.ts.
  schema: ['./src/db/schema.ts', './src/*/schema.ts'],
  out: './src/db/migrations',
});
