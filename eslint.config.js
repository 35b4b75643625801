// Static checks that catch what review misses: promises nobody awaits, and workflow code that is not deterministic.
// `npm run lint`; CI runs it before the tests.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import tseslint from 'typescript-eslint';

/**
 * The module an import or re-export loads at run time; none for `import type` / `export type`. (`import { type A }`
 * counts as a value import: verbatimModuleSyntax keeps it as `import {} from`, which still loads the module.)
 */
function valueImportSource(statement) {
  if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) return statement.moduleSpecifier;
  if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) return statement.moduleSpecifier;
  return undefined;
}

/**
 * Every module the workflow bundle holds, with the file that first pulled it in: the files of workflows/, then
 * whatever they import for its value (not `import type`), followed through relative imports the way webpack follows
 * them. Derived from the imports, so a helper a workflow starts to use is held to the workflow rules at once.
 * @returns {Map<string, string | undefined>} file (relative to the repository) → the file that imports it
 */
function workflowBundleModules() {
  const root = import.meta.dirname;
  const importedBy = new Map();
  const pending = readdirSync(join(root, 'workflows'), { recursive: true })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join('workflows', name));
  for (const file of pending) importedBy.set(file, undefined);
  while (pending.length > 0) {
    const file = pending.pop();
    const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      const specifier = valueImportSource(statement);
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), specifier.text.replace(/\.js$/, '.ts')));
      if (importedBy.has(target)) continue;
      importedBy.set(target, file);
      pending.push(target);
    }
  }
  return importedBy;
}

/**
 * What bundled code may import for its value: the workflow SDK (its lib/ modules too: workflows/sdk-flags.ts reaches
 * the SDK flags there), @temporalio/common (the SDK's deterministic core
 * @temporalio/workflow is built on; search attribute keys are defined only there), @noble/hashes (pure-JS SHA-256
 * for the facts version, no I/O) and relative modules, which are bundled and so held to these same rules.
 */
const bundleMayImport = /^(?!(?:@temporalio\/workflow(?:\/lib\/[\w./-]+)?|@temporalio\/common|@noble\/hashes\/[\w./-]+)$|\.\.?\/)/;

/** The workflow rules for one bundled file; a helper's message names the import that put it in the bundle. */
function workflowRules(importer) {
  const why = importer ? ` (${importer} imports it, so it runs in the workflow sandbox)` : '';
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: bundleMayImport.source,
            message: `Workflow code${why} may import only @temporalio/workflow, @temporalio/common, @noble/hashes and relative modules held to these rules (types from anywhere). Do I/O, validation and Node work in an activity or the API.`,
            allowTypeImports: true,
          },
          { group: ['../lib/*', '../api/*', '../dev/*', '../activities/*', '../worker/*'], message: `Workflow code${why} reaches the outside only through activities (type imports are fine).`, allowTypeImports: true },
        ],
      },
    ],
    // The workflows and what they import are evaluated once per worker thread and shared by every cached run
    // (worker/build-bundle.ts preloads them): a variable at module scope would be one for all runs.
    'no-restricted-syntax': [
      'error',
      {
        selector: ':matches(Program, Program > ExportNamedDeclaration) > VariableDeclaration[kind!="const"]',
        message: `Workflow code${why} is shared by every run a worker holds: keep per-run state in the workflow function's scope, not in a module variable.`,
      },
    ],
    'no-restricted-globals': [
      'error',
      { name: 'process', message: 'Not available in workflows.' },
      { name: 'Buffer', message: 'Not available in workflows.' },
      { name: 'setImmediate', message: 'Use sleep() or condition() from @temporalio/workflow.' },
      { name: 'require', message: 'Not available in workflows.' },
    ],
  };
}

/** Workflows are replayed: no I/O, no clocks or randomness of their own, nothing that is not bundled for them. */
const workflowSandboxConfigs = [...workflowBundleModules()].map(([file, importer]) => ({ files: [file], rules: workflowRules(importer) }));

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
  ...workflowSandboxConfigs,
);
