/**
 * Writes the diagrams of every registered machine (statecharts/index.ts): the engine behind
 * `openpnc statecharts export` and `npm run docs`. Rendering is pure and deterministic, so a
 * test can regenerate the committed diagrams in memory and fail when one is stale.
 */
import { statecharts, type StatechartEntry } from '../../statecharts/index.ts';
import { diagramOf, toDot, toMermaid, toSvg } from './diagram.ts';

export const diagramFormats = ['svg', 'mermaid', 'dot', 'json'] as const;
export type DiagramFormat = (typeof diagramFormats)[number];

const extensions: Record<DiagramFormat, string> = { svg: 'svg', mermaid: 'mmd', dot: 'dot', json: 'json' };

export interface RenderedDiagram {
  readonly entry: StatechartEntry;
  /** File name: `<machine id>.<extension>`. */
  readonly file: string;
  readonly text: string;
}

/** Renders one machine in one format. */
export async function renderDiagram(entry: StatechartEntry, format: DiagramFormat): Promise<RenderedDiagram> {
  const diagram = diagramOf(entry.machine);
  const text =
    format === 'svg' ? await toSvg(diagram) : format === 'mermaid' ? toMermaid(diagram) : format === 'dot' ? toDot(diagram) : JSON.stringify({ participant: entry.participant, summary: entry.summary, ...diagram }, null, 2) + '\n';
  return { entry, file: `${entry.machine.id}.${extensions[format]}`, text };
}

/** The files `npm run docs` keeps under docs/statecharts/: an SVG and a Mermaid source per machine, and an index. */
export async function documentationFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const rows: string[] = [];
  for (const entry of statecharts) {
    for (const format of ['svg', 'mermaid'] as const) {
      const rendered = await renderDiagram(entry, format);
      files.set(rendered.file, rendered.text);
    }
    rows.push(`| \`${entry.participant}\` | [${entry.machine.id}](${entry.machine.id}.svg) ([Mermaid](${entry.machine.id}.mmd)) | ${entry.summary} |`);
  }
  const index = [
    '# Statecharts',
    '',
    'Drawn from the machine definitions in `statecharts/` by `npm run docs` (a test fails when one is stale).',
    '`openpnc statecharts export --format svg|mermaid|dot|json --out DIR` writes the same diagrams anywhere.',
    '',
    '| participant | machine | what it does |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  files.set('README.md', index);
  return files;
}

/** Where `npm run docs` writes, relative to the repository root. */
export const DOCS_DIR = 'docs/statecharts';
