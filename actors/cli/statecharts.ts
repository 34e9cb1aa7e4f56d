// `openpnc statecharts …`: the machines as diagrams, without a browser.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, parseFlags, type Command } from './command.ts';
import { statecharts } from '../../statecharts/index.ts';
import { diagramFormats, documentationFiles, DOCS_DIR, renderDiagram, type DiagramFormat } from '../inspect/export.ts';

const usage = `usage: openpnc statecharts <subcommand>

subcommands:
  list                       the machines, with the participant hosting each
  export [--format F] [--out DIR] [--machine ID]
                             one diagram per machine: F is svg (default), mermaid, dot or json;
                             without --out a single machine (--machine) or a text format goes to stdout
  docs [--out DIR]           rewrite the committed diagrams (default ${DOCS_DIR}; what npm run docs runs)

options:
  -h, --help                 show this help`;

function formatOf(value: string | undefined): DiagramFormat {
  const format = value ?? 'svg';
  if (!(diagramFormats as readonly string[]).includes(format)) throw new CliError(`unknown format '${format}' (expected ${diagramFormats.join(', ')})`);
  return format as DiagramFormat;
}

export const statechartsCommand: Command = {
  summary: 'draw every participant statechart (svg, mermaid, dot, json)',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { format: { type: 'string' }, out: { type: 'string' }, machine: { type: 'string' } });
    const [subcommand, ...rest] = positionals;
    if (rest.length) throw new CliError(`unexpected argument '${rest[0]}' (see openpnc statecharts --help)`);
    switch (subcommand) {
      case 'list':
        for (const entry of statecharts) console.log(`${entry.machine.id.padEnd(20)} ${entry.participant.padEnd(9)} ${entry.summary}`);
        return 0;
      case 'export': {
        const format = formatOf(values.format);
        const chosen = values.machine ? statecharts.filter((entry) => entry.machine.id === values.machine) : statecharts;
        if (chosen.length === 0) throw new CliError(`unknown machine '${values.machine}' (see openpnc statecharts list)`);
        if (!values.out && format === 'svg' && chosen.length > 1) throw new CliError('several SVG diagrams need --out DIR (or choose one with --machine)');
        if (values.out) mkdirSync(values.out, { recursive: true });
        for (const entry of chosen) {
          const rendered = await renderDiagram(entry, format);
          if (values.out) writeFileSync(join(values.out, rendered.file), rendered.text);
          else process.stdout.write(rendered.text);
        }
        if (values.out) console.error(`wrote ${chosen.length} ${format} diagram(s) to ${values.out}`);
        return 0;
      }
      case 'docs': {
        const out = values.out ?? DOCS_DIR;
        mkdirSync(out, { recursive: true });
        const files = await documentationFiles();
        // Diagrams of machines that no longer exist go too, so the folder is exactly what the machines say.
        for (const name of readdirSync(out)) if (!files.has(name)) rmSync(join(out, name));
        for (const [name, text] of files) writeFileSync(join(out, name), text);
        console.error(`wrote ${files.size} files to ${out}`);
        return 0;
      }
      case undefined:
        throw new CliError('missing subcommand (see openpnc statecharts --help)');
      default:
        throw new CliError(`unknown subcommand '${subcommand}' (see openpnc statecharts --help)`);
    }
  },
};
