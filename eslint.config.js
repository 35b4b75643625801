// Static checks that catch what review misses: promises nobody awaits, and workflow code that is not deterministic.
// `npm run lint`; CI runs it before the tests.
import tseslint from 'typescript-eslint';

/** Process definitions hold zod schemas; workflows use their pure *-flow.ts twins (and may import types). */
const processDefinitions = ['capex', 'contract', 'hiring', 'invoice-match', 'supplier-onboarding', 'supplier-rescreening', 'launch-readiness', 'supplier-details', 'policy', 'shared', 'index'].map(
  (name) => `../processes/${name}.js`,
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'lib/generated/**', 'dist/**', '.data/**', 'test-output/**', 'workflow-bundle-*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Workflows are replayed: no I/O, no clocks or randomness of their own, nothing that is not bundled for them.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows are deterministic and sandboxed: do I/O in an activity.' },
            {
              group: ['fs', 'fs/*', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'util', 'stream', 'events', 'url', 'timers', 'worker_threads', 'dns'],
              message: 'Workflows are deterministic and sandboxed: no Node built-ins; do I/O in an activity.',
            },
            { group: ['zod', '@prisma/*', 'pg', 'nodemailer', 'pino', 'express'], message: 'Not in the workflow bundle: validate and do I/O in the API or an activity.', allowTypeImports: true },
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Workflows use @temporalio/workflow only.', allowTypeImports: true },
            { group: ['../lib/*', '../api/*', '../dev/*', '../activities/*', '../worker/*'], message: 'Workflows reach the outside only through activities (type imports are fine).', allowTypeImports: true },
            { group: processDefinitions, message: 'Use the process’s pure *-flow.ts module in workflows: definitions carry zod (type imports are fine).', allowTypeImports: true },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Not available in workflows.' },
        { name: 'Buffer', message: 'Not available in workflows.' },
        { name: 'setImmediate', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'require', message: 'Not available in workflows.' },
      ],
    },
  },
);
