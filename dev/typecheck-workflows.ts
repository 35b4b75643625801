import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Type-checks the code that runs inside Temporal's workflow sandbox (workflows/ and the pure processes/ modules they
 * import) with workflows/tsconfig.json: ES2022 and no Node types, so `Buffer`, `process` or a Node timer's `.unref()`
 * in that code is a type error instead of a failure on a worker.
 *
 * Plain `tsc -p workflows/tsconfig.json` cannot do it: workflows name their activities' types
 * (`import type { Activities }`), so the activity code and the libraries it uses (pg, nodemailer, pino, …) join the
 * program, and their `/// <reference types="node" />` would put Node's globals back for every file. Here no file may
 * load Node's type library, and only the sandbox's files must come out clean; activity files, which never enter the
 * bundle, are checked with Node by the main `tsc --noEmit`.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configPath = join(root, 'workflows', 'tsconfig.json');
const sandboxDirs = ['workflows', 'processes'].map((dir) => join(root, dir) + sep);

function formatHost(): ts.FormatDiagnosticsHost {
  return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
}

const config = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.formatDiagnostic(d, formatHost()));
  },
});
if (!config) throw new Error(`cannot read ${configPath}`);

const host = ts.createCompilerHost(config.options);
const typeReferenceCache = ts.createTypeReferenceDirectiveResolutionCache(root, host.getCanonicalFileName, config.options);
host.resolveTypeReferenceDirectiveReferences = (references, containingFile, redirectedReference, options, containingSourceFile) =>
  references.map((reference) => {
    const name = typeof reference === 'string' ? reference : reference.fileName.toLowerCase();
    if (name === 'node') return { resolvedTypeReferenceDirective: undefined };
    const mode = typeof reference === 'string' ? undefined : ts.getModeForFileReference(reference, containingSourceFile?.impliedNodeFormat);
    return ts.resolveTypeReferenceDirective(name, containingFile, options, host, redirectedReference, typeReferenceCache, mode);
  });

const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, projectReferences: config.projectReferences });
const inSandbox = (file: ts.SourceFile) => sandboxDirs.some((dir) => file.fileName.startsWith(dir));
const sandboxFiles = program.getSourceFiles().filter(inSandbox);
const nodeTypesLoaded = program.getSourceFiles().some((file) => file.fileName.includes('/@types/node/'));
if (nodeTypesLoaded) throw new Error('Node’s type library reached the workflow program: the check would see Node’s globals');

const diagnostics = [
  ...config.errors,
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...sandboxFiles.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
];
if (diagnostics.length > 0) {
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost()));
  process.stderr.write(`\n${diagnostics.length} error(s) in workflow sandbox code (${relative(root, configPath)}: no Node types)\n`);
  process.exit(1);
}
console.log(`workflow sandbox code type-checks without Node types (${sandboxFiles.length} files)`);
