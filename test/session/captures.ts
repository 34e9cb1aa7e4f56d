// Whole sessions of the real EXI corpus (charging-session.md §5): rows whose source ends in
// `#tcpN/C2S/msgK` or `#tcpN/S2C/msgK`, grouped per capture and TCP stream, in message order.
import { loadCorpus, type CorpusRow } from '../helpers/exi-corpus.ts';

export interface Capture {
  /** `<file>#tcpN` */
  readonly name: string;
  readonly requests: readonly CorpusRow[];
  readonly responses: readonly CorpusRow[];
}

const STREAM = /^(.*)#(tcp\d+)\/(C2S|S2C)\/msg(\d+)$/;

export function loadCaptures(): Capture[] {
  const byName = new Map<string, { requests: [number, CorpusRow][]; responses: [number, CorpusRow][] }>();
  for (const row of loadCorpus()) {
    const match = STREAM.exec(row.source);
    if (!match || !['app', 'iso2', 'din'].includes(row.schema)) continue;
    const name = `${match[1].replace(/^.*\//, '')}#${match[2]}`;
    const entry = byName.get(name) ?? { requests: [], responses: [] };
    (match[3] === 'C2S' ? entry.requests : entry.responses).push([Number(match[4]), row]);
    byName.set(name, entry);
  }
  return [...byName].map(([name, { requests, responses }]) => ({
    name,
    requests: requests.sort((a, b) => a[0] - b[0]).map(([, row]) => row),
    responses: responses.sort((a, b) => a[0] - b[0]).map(([, row]) => row),
  }));
}
