// One lint setup for the whole repository (type-aware). `npm run lint` runs it per workspace with --max-warnings=0.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Modules the policy engine must never import: it stays pure so the API, the data plane and the browser share it. */
const engineForbiddenImports = [
  { group: ['node:*'], message: 'The engine is pure: no Node built-ins (it also runs in the browser).' },
  {
    group: ['@nestjs/*', 'undici', '@prisma/*', 'prisma', 'react', 'react-dom', 'ioredis', 'bullmq'],
    message: 'The engine imports only zod, yaml and the CEL library.',
  },
];
const nodeBuiltins = [
  'http',
  'https',
  'fs',
  'net',
  'crypto',
  'os',
  'path',
  'child_process',
  'stream',
  'url',
  'zlib',
  'tls',
  'dns',
  'buffer',
  'util',
  'events',
  'worker_threads',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/.turbo/**',
      '**/generated/**',
      'output/**',
      '.gatehouse/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['packages/traffic-policy/src/**/*.ts'],
    // Tests may use Node (fs, crypto) to build fixtures; only shipped sources must stay pure.
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: engineForbiddenImports,
          paths: nodeBuiltins.map((name) => ({ name, message: 'The engine is pure: no Node built-ins.' })),
        },
      ],
    },
  },
);
