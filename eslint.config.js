// Lint that keeps the codebase "one of each" (README "Working on it"): type-aware rules for
// promises and type imports, no import cycles, generated code and build output left alone.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Test files and their helpers beside the code they test. */
const TESTS = ['packages/*/src/**/*.test.ts', 'packages/*/src/**/*.test-helpers.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'packages/shared/src/gen/**', '.portage/**', 'bench/out/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['packages/*/src/**/*.ts'],
    ignores: TESTS,
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'packages/*/tsconfig.json', noWarnOnMultipleProjects: true })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // the tests: type-checked through tsconfig.test.json, held to the same promise rules
    files: ['test/**/*.ts', ...TESTS],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // the host's domain (builds, roots, snapshots, registry, keys, retention) and its delivery
    // state know nothing of gRPC: the RPC layer (rpc/) calls them, never the other way round
    files: ['packages/agent-host/src/{build,root,publish,registry,signing,gc,events,repos,distcc,diff,delivery}/**/*.ts'],
    ignores: TESTS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../rpc/*'], message: 'domain and delivery code do not import the RPC layer (rpc/)' }] }],
    },
  },
);
