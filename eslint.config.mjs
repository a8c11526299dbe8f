// One lint setup for the whole repository (type-aware). `npm run lint` runs it per workspace with --max-warnings=0.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * What the policy engine may import besides its own files: it stays pure so the API, the data plane and the browser
 * share it. Anything else (a Node built-in, a framework, a driver, another library) is an error until added here.
 * Each entry is a regular expression over the whole import path.
 */
const engineAllowedImports = [
  '@gatehouse/contracts',
  'zod',
  'yaml',
  '@marcbachmann/cel-js(/.*)?',
  // jose by its subpath entries too (jose/base64url, jose/jws/compact/verify…): the index loads every JOSE module.
  'jose(/.*)?',
  '@noble/hashes/.*',
  // RE2 for every policy regex (linear time, ngrok's syntax); pure JavaScript, so it bundles for the browser.
  're2js',
  // req.user_agent.* (ngrok parses the User-Agent): a maintained MIT parser, pure JavaScript, no dependencies.
  'bowser',
];
const engineForbiddenImports = [
  { group: ['node:*'], message: 'The engine is pure: no Node built-ins (it also runs in the browser).' },
  {
    regex: `^(?!(\\.{1,2}/|(${engineAllowedImports.join('|')})$))`,
    message:
      'The engine depends only on @gatehouse/contracts, zod, yaml, the CEL library (@marcbachmann/cel-js), re2js, jose, @noble/hashes and bowser.',
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
      // bench/agent-tunnel-ab.ts's base builds (copies of dist)
      '**/dist-base/**',
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
