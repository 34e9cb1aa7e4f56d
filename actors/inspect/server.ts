/**
 * The statechart inspector: a local web page (no hosted service, works offline) fed by the
 * `inspect.>` stream of a bus (in-process or NATS) and, where a store is at hand, by the actor
 * records in it. The page itself lives in ./page; this module serves it, the diagrams, a JSON
 * API over the InspectorModel and a server-sent-event stream of changes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unsubscribeAll, type Bus, type Subscription } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';
import { ACTORS_COLLECTION, type ActorRecord } from '../host/actor.ts';
import { TRACE_SUBJECT_PREFIX, CORRELATION_FIELDS, type Correlation, type TimelineEntry } from '../story/timeline.ts';
import { statecharts } from '../../statecharts/index.ts';
import { decodeExiAuto, ExiDecodeError } from '../../protocols/exi/index.ts';
import { diagramOf, toSvg } from './diagram.ts';
import { InspectorModel, type InspectMessage } from './model.ts';

/** @default 7070 */
export const DEFAULT_INSPECTOR_PORT = 7070;
/** How often the store's actor records are read again in the store-only mode. @default 1000 */
export const DEFAULT_STORE_POLL_MS = 1_000;
/** Hex EXI a decode request may carry: a CertificateInstallationRes is 2–3 KB, and the whole request line must stay under Node's 16 KiB header limit. */
const MAX_EXI_HEX = 12_000;

export interface InspectorOptions {
  /** Live events and traces come from `inspect.>` on this bus. */
  readonly bus?: Bus;
  /** Actor records come from this store: read at start, and every `pollMs` when there is no bus. */
  readonly store?: Store;
  readonly port?: number;
  /** @default 127.0.0.1 — the page shows contract data; expose it deliberately. */
  readonly host?: string;
  readonly pollMs?: number;
}

export interface RunningInspector {
  readonly url: string;
  readonly model: InspectorModel;
  close(): Promise<void>;
}

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGE_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

class HttpProblem extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(400, 'malformed percent-encoding in the path');
  }
}

export async function startInspector(options: InspectorOptions): Promise<RunningInspector> {
  const model = new InspectorModel();
  const svgs = new Map<string, Promise<string>>();
  const streams = new Set<ServerResponse>();
  const subscriptions: Subscription[] = [];
  const pageCache = new Map(Object.entries(PAGE_FILES).map(([path, file]) => [path, readFileSync(new URL(file, PAGE_DIR))]));

  const readStore = async () => {
    if (!options.store) return;
    const records = await options.store.collection<ActorRecord>(ACTORS_COLLECTION).find();
    for (const record of records) model.ingestRecord(record);
  };

  model.onChange((change) => {
    const line = `data: ${JSON.stringify(change)}\n\n`;
    for (const stream of streams) stream.write(line);
  });

  if (options.bus) {
    subscriptions.push(
      await options.bus.subscribe('inspect.>', ({ subject, payload }) => {
        // Anything on the stream is data from the network: a malformed message is skipped, never fatal.
        if (!payload || typeof payload !== 'object') return;
        if (subject.startsWith(TRACE_SUBJECT_PREFIX)) model.ingestTrace(payload as TimelineEntry);
        else if (typeof (payload as InspectMessage).participant === 'string' && typeof (payload as InspectMessage).id === 'string') model.ingest(payload as InspectMessage);
      }),
    );
  }
  await readStore();
  const poll = !options.bus && options.store ? setInterval(() => void readStore().catch(() => {}), options.pollMs ?? DEFAULT_STORE_POLL_MS) : undefined;

  const diagram = (machine: string): Promise<string> => {
    const entry = statecharts.find((candidate) => candidate.machine.id === machine);
    if (!entry) throw new HttpProblem(404, `no machine '${machine}'`);
    let svg = svgs.get(machine);
    if (!svg) svgs.set(machine, (svg = toSvg(diagramOf(entry.machine))));
    return svg;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET') throw new HttpProblem(405, 'only GET is served');
    const target = request.url ?? '/';
    if (!target.startsWith('/')) throw new HttpProblem(400, 'the target must be a path');
    const query = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '');
    const segments = target.split('?')[0].split('/').slice(1).map(decodeSegment);
    const path = `/${segments.join('/')}`;
    if (path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const page = pageCache.get(path);
    if (page) {
      response.writeHead(200, { 'content-type': CONTENT_TYPES[PAGE_FILES[path].split('.').pop()!], 'cache-control': 'no-store' });
      response.end(page);
      return;
    }
    switch (segments[0] === 'api' ? segments[1] : undefined) {
      case 'machines':
        return sendJson(response, 200, statecharts.map((entry) => ({ machine: entry.machine.id, participant: entry.participant, summary: entry.summary })));
      case 'diagram': {
        const machine = (segments[2] ?? '').replace(/\.svg$/, '');
        const svg = await diagram(machine);
        response.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
        response.end(svg);
        return;
      }
      case 'actors':
        return sendJson(response, 200, model.list({ participant: query.get('participant') ?? undefined, text: query.get('q') ?? undefined }));
      case 'actor': {
        const actor = segments.length === 4 ? model.actor(segments[2], segments[3]) : undefined;
        if (!actor) throw new HttpProblem(404, 'no such actor');
        return sendJson(response, 200, actor);
      }
      case 'sequence': {
        const keys: Correlation = {};
        for (const field of CORRELATION_FIELDS) {
          const value = query.get(field);
          if (value) keys[field] = value;
        }
        if (Object.keys(keys).length === 0) throw new HttpProblem(400, `name one of ${CORRELATION_FIELDS.join(', ')}`);
        return sendJson(response, 200, model.sequence(keys));
      }
      case 'exi': {
        const hex = query.get('hex') ?? '';
        if (hex.length === 0 || hex.length > MAX_EXI_HEX || hex.length % 2 || !/^[0-9a-fA-F]+$/.test(hex)) throw new HttpProblem(400, `hex must be an even number of hex digits, at most ${MAX_EXI_HEX}`);
        try {
          return sendJson(response, 200, decodeExiAuto(Buffer.from(hex, 'hex')));
        } catch (error) {
          if (error instanceof ExiDecodeError) throw new HttpProblem(422, error.message);
          throw error;
        }
      }
      case 'stream':
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        response.write(': connected\n\n');
        streams.add(response);
        request.on('close', () => streams.delete(response));
        return;
      default:
        throw new HttpProblem(404, `nothing at ${path}`);
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 500;
      const message = error instanceof HttpProblem ? error.message : 'internal error';
      if (!response.headersSent) sendJson(response, status, { error: message });
      else response.end();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_INSPECTOR_PORT, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    model,
    async close() {
      if (poll) clearInterval(poll);
      await unsubscribeAll(subscriptions);
      for (const stream of streams) stream.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
