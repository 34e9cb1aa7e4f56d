// The real EXI corpus of /work/shared/vectors/exi (exi.md): 3,189 payloads with their schema and source.
import { readFileSync } from 'node:fs';

export const EXI_CORPUS_DIR = new URL('../../../shared/vectors/exi/', import.meta.url);

export interface CorpusRow {
  readonly id: number;
  readonly namespace: string;
  readonly schema: 'app' | 'iso2' | 'din' | 'iso2-frag' | 'iso2-xmldsig';
  readonly message: string;
  readonly hex: string;
  readonly bytes: Uint8Array;
  readonly source: string;
  readonly notes: readonly string[];
}

let cache: CorpusRow[] | undefined;

/** All rows of `vectors_all.tsv`, in id order. */
export function loadCorpus(): CorpusRow[] {
  if (cache) return cache;
  const [header, ...lines] = readFileSync(new URL('vectors_all.tsv', EXI_CORPUS_DIR), 'utf8').trimEnd().split('\n');
  const columns = header.split('\t');
  cache = lines.map((line) => {
    const cells = Object.fromEntries(line.split('\t').map((cell, i) => [columns[i], cell]));
    return {
      id: Number(cells.id),
      namespace: cells.namespace,
      schema: cells.schema as CorpusRow['schema'],
      message: cells.message,
      hex: cells.hex,
      bytes: new Uint8Array(Buffer.from(cells.hex, 'hex')),
      source: cells.source,
      notes: cells.notes ? cells.notes.split(',') : [],
    };
  });
  return cache;
}

let documents: Map<number, unknown> | undefined;

/** The reference decoding of row `id` from `decoded_all.jsonl` (the ExiJson document). */
export function corpusDocument(id: number): any {
  if (!documents) {
    documents = new Map();
    for (const line of readFileSync(new URL('decoded_all.jsonl', EXI_CORPUS_DIR), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as { id: number; document: unknown };
      documents.set(entry.id, entry.document);
    }
  }
  if (!documents.has(id)) throw new Error(`no reference decoding for corpus row ${id}`);
  return structuredClone(documents.get(id));
}

export interface CorpusFailure {
  readonly hex: string;
  readonly bytes: Uint8Array;
  readonly source: string;
  readonly explanation: string;
}

/** The rows of `failures.tsv`: inputs the reference codec refused, each with the reason. */
export function loadCorpusFailures(): CorpusFailure[] {
  const [, ...lines] = readFileSync(new URL('failures.tsv', EXI_CORPUS_DIR), 'utf8').trimEnd().split('\n');
  return lines.map((line) => {
    const [hex, source, explanation] = line.split('\t');
    return { hex, bytes: new Uint8Array(Buffer.from(hex, 'hex')), source, explanation };
  });
}
