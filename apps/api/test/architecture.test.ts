import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SOURCE_ROOT = path.join(__dirname, '../src');

function sourceFiles(directory = SOURCE_ROOT): string[] {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) return name === 'generated' ? [] : sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

const relative = (file: string) => path.relative(SOURCE_ROOT, file);

/** Every TypeScript and JavaScript file under a directory, tests included. */
function codeFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const full = path.join(directory, name);
    if (statSync(full).isDirectory()) return name === 'generated' || name === 'node_modules' ? [] : codeFiles(full);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [full] : [];
  });
}

const APP_ROOT = path.join(__dirname, '..');

/** Every code file of the app: its source, tests, benchmarks and scripts. */
function appCodeFiles(): string[] {
  return ['src', 'test', 'bench', 'scripts'].flatMap((directory) => codeFiles(path.join(APP_ROOT, directory)));
}

/** What a file imports or re-exports: `from '…'`, `import '…'`, `import('…')` and `require('…')`. */
function importSpecifiersOf(source: string): string[] {
  const pattern = /(?:\bfrom\s+|^\s*import\s+|\bimport\(\s*|\brequire\(\s*)['"]([^'"]+)['"]/gm;
  return [...source.matchAll(pattern)].map((match) => match[1]!);
}

describe('house rules (STYLE.md)', () => {
  it('only repositories and the database module use the Prisma client at runtime (type imports are fine)', () => {
    const offenders = sourceFiles().filter((file) => {
      const valueImports = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^import (?!type )/.test(line) && /generated\/prisma|@prisma\//.test(line))
        // `import { type A, type B } from …` is type-only too.
        .filter((line) => !/^import \{(\s*type \w+,?)+\s*\}/.test(line));
      return valueImports.length > 0 && !file.endsWith('.repository.ts') && !relative(file).startsWith('database/');
    });
    expect(offenders.map(relative)).toEqual([]);
  });

  it('reads process.env only where the environment is parsed (env.ts names it; the two entry points pass it in)', () => {
    const readers = sourceFiles()
      .filter((file) => readFileSync(file, 'utf8').includes('process.env'))
      .map(relative)
      .sort();
    expect(readers).toEqual(['env.ts', 'main.ts', 'worker.ts']);
  });

  it('never imports the data plane: the embedded shape composes both in apps/gatehouse, through contracts', () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      expect(Object.keys(manifest[field] ?? {}), field).not.toContain('@gatehouse/dataplane');
    }
    const importers = appCodeFiles()
      .filter(
        (file) =>
          file !== __filename &&
          /from '@gatehouse\/dataplane|import\('@gatehouse\/dataplane/.test(readFileSync(file, 'utf8')),
      )
      .map((file) => path.relative(APP_ROOT, file));
    expect(importers).toEqual([]);
  });

  // `npm run lint:deps` flags these too, by where they resolve; an import it cannot resolve (into another workspace's
  // dist/ before a build, say) passes it unflagged. Reading the specifiers needs neither a build nor resolution.
  it('imports no other workspace by relative path (packages are imported by name, apps not at all)', () => {
    const outside = appCodeFiles().flatMap((file) =>
      importSpecifiersOf(readFileSync(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => path.relative(APP_ROOT, path.resolve(path.dirname(file), specifier)).startsWith('..'))
        .map((specifier) => `${path.relative(APP_ROOT, file)} → ${specifier}`),
    );
    expect(outside).toEqual([]);
  });
});
