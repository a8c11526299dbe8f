// Prisma CLI configuration (used by `prisma generate`). The schema lives at the repository root (DESIGN.md §2);
// paths here are relative to this file. Migrations do not go through the Prisma CLI: scripts/wasm-migrate.mjs drives
// the WebAssembly schema engine (STACK.md "Prisma migrations offline").
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: '../../prisma/schema.prisma',
  migrations: { path: '../../prisma/migrations' },
});
