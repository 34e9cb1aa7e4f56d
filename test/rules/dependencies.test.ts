// The layering rules of DEVELOPERS.md, checked on the source itself with the TypeScript parser:
// protocols/ imports nothing from actors/ or statecharts/; statecharts/ imports no node:* module
// (nor a bare Node built-in) and reads no clock. A breach names the file, the line and the import or call.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const repo = resolve(new URL('../..', import.meta.url).pathname);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Found { file: string; line: number; text: string }

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function where(source: ts.SourceFile, node: ts.Node): { file: string; line: number } {
  return { file: relative(repo, source.fileName), line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 };
}

/** Every module specifier: import/export ... from, import('x'), require('x'), import x = require('x'). */
export function importsOf(source: ts.SourceFile): (Found & { specifier: string })[] {
  const found: (Found & { specifier: string })[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (literal && ts.isStringLiteralLike(literal)) found.push({ ...where(source, node), specifier: literal.text, text: node.getText(source).split('\n')[0] });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) add(node, node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Clock reads: Date.now(), new Date() and Date() without arguments, performance.now(), process.hrtime, timers. */
export function clockReadsOf(source: ts.SourceFile): Found[] {
  const found: Found[] = [];
  const text = (node: ts.Node) => node.getText(source).replace(/\s+/g, ' ');
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const name = text(node);
      if (/^(globalThis\.)?(Date\.now|performance\.now|performance\.timeOrigin|process\.hrtime(\.bigint)?|process\.uptime)$/.test(name)) {
        found.push({ ...where(source, node), text: name });
        return; // process.hrtime.bigint once, not again as process.hrtime
      }
    } else if (ts.isNewExpression(node) && text(node.expression) === 'Date' && (node.arguments?.length ?? 0) === 0) {
      found.push({ ...where(source, node), text: text(node) });
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && (node.expression.text === 'Date' || /^(setTimeout|setInterval|setImmediate)$/.test(node.expression.text))) {
      if (node.expression.text !== 'Date' || node.arguments.length === 0) found.push({ ...where(source, node), text: `${node.expression.text}(…)` });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const nodeBuiltins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** What a file of `layer` may not import; returns why, or undefined when allowed. */
export function forbiddenImport(layer: 'protocols' | 'statecharts', file: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) {
    const target = relative(repo, resolve(dirname(file), specifier));
    const top = target.split('/')[0];
    if (top === 'actors') return 'imports from actors/ (the runtime)';
    if (layer === 'protocols' && top === 'statecharts') return 'imports from statecharts/';
    if (!['protocols', 'statecharts'].includes(top) || (layer === 'protocols' && top !== 'protocols')) return `imports ${target} from outside its layer`;
    return undefined;
  }
  if (layer === 'statecharts' && nodeBuiltins.has(specifier.split('/')[0]) || (layer === 'statecharts' && specifier.startsWith('node:'))) return 'imports a Node built-in (I/O)';
  return undefined;
}

function breaches(layer: 'protocols' | 'statecharts'): string[] {
  const lines: string[] = [];
  for (const file of sourceFiles(join(repo, layer))) {
    const source = parse(file);
    for (const found of importsOf(source)) {
      const why = forbiddenImport(layer, file, found.specifier);
      if (why) lines.push(`${found.file}:${found.line}: ${why}: ${found.text}`);
    }
    if (layer === 'statecharts') for (const read of clockReadsOf(source)) lines.push(`${read.file}:${read.line}: reads the clock: ${read.text} (time comes in events or input)`);
  }
  return lines;
}

test('protocols/ imports nothing from actors/ or statecharts/', () => {
  const found = breaches('protocols');
  assert.ok(found.length === 0, `layer rule broken:\n  ${found.join('\n  ')}`);
});

test('statecharts/ imports no node:* module and nothing from actors/, and reads no clock', () => {
  const found = breaches('statecharts');
  assert.ok(found.length === 0, `layer rule broken:\n  ${found.join('\n  ')}`);
});

test('the checker sees every form of import and clock read (so a pass means something)', () => {
  const file = join(repo, 'statecharts', 'probe.ts');
  const source = ts.createSourceFile(file, [
    "import { readFileSync } from 'node:fs';",
    "import type { Bus } from '../actors/bus/bus.ts';",
    "export * from '../actors/host/index.ts';",
    "const os = await import('os');",
    'const a = Date.now(), b = new Date(), c = performance.now(), d = process.hrtime.bigint(), e = Date();',
    'const fine = new Date(0), alsoFine = Date.parse("2020-01-01");',
    'setTimeout(() => undefined, 1);',
  ].join('\n'), ts.ScriptTarget.Latest, true);
  const imports = importsOf(source).map((i) => [i.specifier, forbiddenImport('statecharts', file, i.specifier) !== undefined]);
  assert.equal(imports, [['node:fs', true], ['../actors/bus/bus.ts', true], ['../actors/host/index.ts', true], ['os', true]]);
  assert.equal(clockReadsOf(source).map((r) => r.text), ['Date.now', 'new Date()', 'performance.now', 'process.hrtime.bigint', 'Date(…)', 'setTimeout(…)']);
  const protocolFile = join(repo, 'protocols', 'probe.ts');
  assert.ok(forbiddenImport('protocols', protocolFile, '../statecharts/rcp.ts'));
  assert.ok(forbiddenImport('protocols', protocolFile, '../actors/bus/typed.ts'));
  assert.is(forbiddenImport('protocols', protocolFile, './pki/index.ts'), undefined);
  assert.is(forbiddenImport('protocols', protocolFile, 'node:crypto'), undefined, 'protocols may compute with node:crypto');
});

test.run();
