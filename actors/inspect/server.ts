/**
 * The statechart inspector: a local web page (no hosted service, works offline) fed by the
 * `inspect.>` stream of a bus (in-process or NATS) and, where a store is at hand, by the actor
 * records in it. The page itself lives in ./page; this module serves it behind the HTTP edge
 * (actors/edge/http.ts), with the diagrams, a JSON API over the InspectorModel, and a change feed
 * the page long-polls (`/api/changes?since=N`).
 */
import { readFileSync } from 'node:fs';
import { unsubscribeAll, type Bus, type Subscription } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';
import { ACTORS_COLLECTION, type ActorRecord } from '../host/actor.ts';
import { isTraceSubject, CORRELATION_FIELDS, type Correlation, type TimelineEntry } from '../story/timeline.ts';
import { statecharts } from '../../statecharts/index.ts';
import { decodeExiAuto, ExiDecodeError } from '../../protocols/exi/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { EdgeError, startHttpEdge, type EdgeReply, type EdgeRequest } from '../edge/http.ts';
import { createLogger } from '../host/log.ts';
import type { Logger } from '../host/participant.ts';
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
  /** Request log lines (`inspect.request`); none when omitted. */
  readonly log?: Logger;
}

export interface RunningInspector {
  readonly url: string;
  readonly model: InspectorModel;
  close(): Promise<void>;
}

const PAGE_DIR = new URL('./page/', import.meta.url);
const PAGE_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
/** A change poll answers at once when something changed since, else after the first change or this long. */
export const CHANGE_POLL_MS = 20_000;
/** Changes kept for pollers that are behind; an older `since` gets `reset` and reloads everything. */
const CHANGES_KEPT = 1_000;
/** Inspector refusals besides the edge's own; each has its HTTP status. */
const INSPECTOR_STATUS: Record<string, number> = { UnknownMachine: 404, UnknownActor: 404, MissingKey: 400, BadExi: 400, ExiUndecodable: 422 };

const json = (body: unknown): EdgeReply => ({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify(body) });
const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

export async function startInspector(options: InspectorOptions): Promise<RunningInspector> {
  const model = new InspectorModel();
  const svgs = new Map<string, Promise<string>>();
  const subscriptions: Subscription[] = [];
  const pages = new Map(Object.entries(PAGE_FILES).map(([path, file]) => [path, { type: CONTENT_TYPES[file.split('.').pop()!], body: readFileSync(new URL(file, PAGE_DIR)) }]));
  // The change feed: a version counter, the recent changes, and the pollers waiting for the next one.
  let version = 0;
  const changes: Array<{ version: number; change: unknown }> = [];
  const waiting = new Set<() => void>();
  model.onChange((change) => {
    changes.push({ version: ++version, change });
    if (changes.length > CHANGES_KEPT) changes.splice(0, changes.length - CHANGES_KEPT);
    for (const wake of waiting) wake();
    waiting.clear();
  });

  const readStore = async () => {
    if (!options.store) return;
    const records = await options.store.collection<ActorRecord>(ACTORS_COLLECTION).find();
    for (const record of records) model.ingestRecord(record);
  };
  if (options.bus) {
    subscriptions.push(
      await options.bus.subscribe('inspect.>', ({ subject, payload }) => {
        // Anything on the stream is data from the network: a malformed message is skipped, never fatal.
        if (!payload || typeof payload !== 'object') return;
        if (isTraceSubject(subject)) model.ingestTrace(payload as TimelineEntry);
        else if (typeof (payload as InspectMessage).participant === 'string' && typeof (payload as InspectMessage).id === 'string') model.ingest(payload as InspectMessage);
      }),
    );
  }
  await readStore();
  const poll = !options.bus && options.store ? setInterval(() => void readStore().catch(() => {}), options.pollMs ?? DEFAULT_STORE_POLL_MS) : undefined;

  const diagram = (machine: string): Promise<string> => {
    const entry = statecharts.find((candidate) => candidate.machine.id === machine);
    if (!entry) throw new PncError('UnknownMachine', `no machine '${machine}'`);
    let svg = svgs.get(machine);
    if (!svg) svgs.set(machine, (svg = toSvg(diagramOf(entry.machine))));
    return svg;
  };

  const changesSince = async (since: number): Promise<EdgeReply> => {
    if (since >= version) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { waiting.delete(wake); resolve(); }, CHANGE_POLL_MS);
        const wake = () => { clearTimeout(timer); resolve(); };
        waiting.add(wake);
      });
    }
    const reset = since > version || (changes.length > 0 && changes[0].version > since + 1);
    return json({ version, reset, changes: reset ? [] : changes.filter((entry) => entry.version > since).map((entry) => entry.change) });
  };

  const handle = async ({ method, target }: EdgeRequest): Promise<EdgeReply> => {
    if (method !== 'GET') throw new EdgeError('MethodNotAllowed', 'only GET is served', { allow: 'GET' });
    const segments = target.segments;
    const page = pages.get(target.path);
    if (page) return { status: 200, headers: { 'content-type': page.type, 'cache-control': 'no-store' }, body: page.body };
    if (target.path === '/favicon.ico') return { status: 204 };
    const query = (name: string) => single(target.query[name]);
    switch (segments[0] === 'api' ? segments[1] : undefined) {
      case 'machines':
        return json(statecharts.map((entry) => ({ machine: entry.machine.id, participant: entry.participant, summary: entry.summary })));
      case 'diagram':
        return { status: 200, headers: { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' }, body: await diagram((segments[2] ?? '').replace(/\.svg$/, '')) };
      case 'actors':
        return json(model.list({ participant: query('participant'), text: query('q') }));
      case 'actor': {
        const actor = segments.length === 4 ? model.actor(segments[2], segments[3]) : undefined;
        if (!actor) throw new PncError('UnknownActor', 'no such actor');
        return json(actor);
      }
      case 'sequence': {
        const keys: Correlation = {};
        for (const field of CORRELATION_FIELDS) {
          const value = query(field);
          if (value) keys[field] = value;
        }
        if (Object.keys(keys).length === 0) throw new PncError('MissingKey', `name one of ${CORRELATION_FIELDS.join(', ')}`);
        return json(model.sequence(keys));
      }
      case 'exi': {
        const hex = query('hex') ?? '';
        if (hex.length === 0 || hex.length > MAX_EXI_HEX || hex.length % 2 || !/^[0-9a-fA-F]+$/.test(hex)) throw new PncError('BadExi', `hex must be an even number of hex digits, at most ${MAX_EXI_HEX}`);
        try {
          return json(decodeExiAuto(Buffer.from(hex, 'hex')));
        } catch (error) {
          if (error instanceof ExiDecodeError) throw new PncError('ExiUndecodable', error.message);
          throw error;
        }
      }
      case 'changes': {
        const since = Number(query('since') ?? '0');
        if (!Number.isSafeInteger(since) || since < 0) throw new PncError('MissingKey', 'since must be a change number');
        return changesSince(since);
      }
      default:
        throw new EdgeError('NotFound', `nothing at ${target.path}`);
    }
  };

  const edge = await startHttpEdge({
    name: 'inspect',
    log: options.log ?? createLogger({ write: () => {} }),
    port: options.port ?? DEFAULT_INSPECTOR_PORT,
    host: options.host ?? '127.0.0.1',
    limits: { maxBodyBytes: 0 },
    statusOf: (error) => INSPECTOR_STATUS[error.code] ?? 500,
    errorReply: (error, status, traceId) => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ error: error.message, code: error.code, traceId }) }),
    handle,
  });
  return {
    url: edge.url.endsWith('/') ? edge.url : `${edge.url}/`,
    model,
    async close() {
      if (poll) clearInterval(poll);
      await unsubscribeAll(subscriptions);
      for (const wake of waiting) wake();
      await edge.close();
    },
  };
}
