// Diagrams drawn from the machine definitions: the registry is complete, the committed docs are
// current, and each format says what the machine says.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statecharts } from '../../statecharts/index.ts';
import { diagramOf, stateIds, toDot, toMermaid } from '../../actors/inspect/diagram.ts';
import { documentationFiles, DOCS_DIR, renderDiagram } from '../../actors/inspect/export.ts';
import { contractMachine } from '../../statecharts/mo.ts';
import { assertOneLineError, openpnc } from '../helpers/cli.ts';

const root = new URL('../../', import.meta.url).pathname;

test('every machine exported from statecharts/ is in the registry', async () => {
  const registered = new Set(statecharts.map((entry) => entry.machine));
  const missing: string[] = [];
  for (const file of readdirSync(join(root, 'statecharts')).filter((name) => name.endsWith('.ts'))) {
    const module = (await import(join(root, 'statecharts', file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      const isMachine = typeof value === 'object' && value !== null && 'root' in value && 'provide' in value;
      if (isMachine && !registered.has(value as (typeof statecharts)[number]['machine'])) missing.push(`${file}: ${name}`);
    }
  }
  assert.equal(missing, [], `register these in statecharts/index.ts: ${missing.join(', ')}`);
  const ids = statecharts.map((entry) => entry.machine.id);
  assert.equal(ids.length, new Set(ids).size, 'machine ids are unique (they name the diagram files)');
});

test('the committed diagrams under docs/statecharts are current (run npm run docs)', async () => {
  const expected = await documentationFiles();
  const onDisk = readdirSync(join(root, DOCS_DIR)).sort();
  assert.equal(onDisk, [...expected.keys()].sort(), 'the folder holds exactly the generated files');
  for (const [name, text] of expected) assert.ok(readFileSync(join(root, DOCS_DIR, name), 'utf8') === text, `${DOCS_DIR}/${name} is stale: run npm run docs`);
});

test('the graph model has the states, tags-free finals and labelled transitions of the MO contract', () => {
  const diagram = diagramOf(contractMachine);
  assert.is(diagram.machine, 'mo-contract');
  assert.is(diagram.root.initial, 'mo-contract.fetchingChain');
  const ids = stateIds(diagram);
  for (const state of ['fetchingChain', 'submitted', 'installed', 'terminated', 'failed']) assert.ok(ids.includes(`mo-contract.${state}`), state);
  const finals = diagram.root.children.filter((state) => state.type === 'final').map((state) => state.key);
  assert.ok(finals.includes('terminated'));
  const edge = (source: string, label: string) => diagram.transitions.find((t) => t.source === `mo-contract.${source}` && t.label === label);
  assert.is(edge('fetchingChain', 'done: fetchProvisioningChain')?.target, 'mo-contract.verifyingChain');
  assert.ok(diagram.transitions.some((t) => t.label === 'CONTRACT_STORED' && t.target === 'mo-contract.installed'), 'the CCP confirmation leads to installed');
  assert.ok(diagram.transitions.some((t) => t.source === 'mo-contract.fetchingChain' && t.label === 'error: fetchProvisioningChain' && t.target === 'mo-contract.fetchWaiting'), 'a retryable failure waits (issue 9)');
  assert.equal(diagram.root.children.find((state) => state.key === 'issuing')?.invokes, ['issueContract']);
});

test('Mermaid, DOT and SVG carry every state and every transition', async () => {
  for (const entry of statecharts) {
    const diagram = diagramOf(entry.machine);
    const mermaid = toMermaid(diagram);
    assert.ok(mermaid.startsWith('stateDiagram-v2\n'));
    const arrows = mermaid.split('\n').filter((line) => / --> /.test(line) && !line.includes('[*]'));
    assert.is(arrows.length, diagram.transitions.length, `${entry.machine.id}: one Mermaid arrow per transition`);
    const dot = toDot(diagram);
    assert.is(dot.match(/ -> "state:/g)?.length, diagram.transitions.length + dot.match(/"start:/g)!.length / 2, `${entry.machine.id}: DOT edges`);
    // Graphviz writes '-' in ids as &#45;, which an XML or HTML parser reads back as '-'.
    const svg = (await renderDiagram(entry, 'svg')).text.replace(/&#45;/g, '-');
    for (const id of stateIds(diagram).slice(1)) assert.ok(svg.includes(`id="state:${id}"`), `${entry.machine.id}: SVG element for ${id}`);
  }
});

test('openpnc statecharts export writes each format and refuses bad input on one line', async () => {
  const out = mkdtempSync(join(tmpdir(), 'openpnc-diagrams-'));
  try {
    const json = await openpnc(['statecharts', 'export', '--format', 'json', '--machine', 'mo-contract']);
    assert.is(json.code, 0, json.stderr);
    assert.is(JSON.parse(json.stdout).machine, 'mo-contract');
    const dot = await openpnc(['statecharts', 'export', '--format', 'dot', '--out', out]);
    assert.is(dot.code, 0, dot.stderr);
    assert.equal(readdirSync(out).sort(), statecharts.map((entry) => `${entry.machine.id}.dot`).sort());
    assertOneLineError(await openpnc(['statecharts', 'export', '--format', 'png']), /unknown format 'png'/, 2);
    assertOneLineError(await openpnc(['statecharts', 'export', '--machine', 'nope']), /unknown machine 'nope'/, 2);
    assertOneLineError(await openpnc(['statecharts', 'export']), /several SVG diagrams need --out/, 2);
    assertOneLineError(await openpnc(['statecharts', 'draw']), /unknown subcommand 'draw'/, 2);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
