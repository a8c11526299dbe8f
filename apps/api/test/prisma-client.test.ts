import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const API_ROOT = path.join(__dirname, '..');
const SCHEMA = path.join(API_ROOT, '../../prisma/schema.prisma');
const COMMITTED = path.join(API_ROOT, 'src/generated/prisma');

function listFiles(root: string, relative = ''): string[] {
  return readdirSync(path.join(root, relative)).flatMap((name) => {
    const child = path.join(relative, name);
    return statSync(path.join(root, child)).isDirectory() ? listFiles(root, child) : [child];
  });
}

describe('generated Prisma client', () => {
  it('is current (run `npm run prisma:generate -w @gatehouse/api` after changing prisma/schema.prisma)', () => {
    const workdir = mkdtempSync(path.join(tmpdir(), 'gatehouse-prisma-'));
    try {
      // Same layout as the repository, so the generated files (which embed the schema text) are byte-identical.
      mkdirSync(path.join(workdir, 'prisma'));
      copyFileSync(SCHEMA, path.join(workdir, 'prisma/schema.prisma'));
      const output = path.join(workdir, 'apps/api/src/generated/prisma');
      execFileSync(
        path.join(API_ROOT, '../../node_modules/.bin/prisma'),
        ['generate', '--schema', 'prisma/schema.prisma'],
        {
          cwd: workdir,
          env: {
            ...process.env,
            PRISMA_SCHEMA_ENGINE_BINARY: path.join(API_ROOT, 'scripts/schema-engine-stub.sh'),
            PRISMA_HIDE_UPDATE_MESSAGE: '1',
          },
          stdio: 'pipe',
        },
      );
      const expected = listFiles(output).sort();
      expect(listFiles(COMMITTED).sort()).toEqual(expected);
      for (const file of expected) {
        expect(
          readFileSync(path.join(COMMITTED, file), 'utf8') === readFileSync(path.join(output, file), 'utf8'),
          file,
        ).toBe(true);
      }
    } finally {
      rmSync(workdir, { recursive: true, force: true });
    }
  });
});
