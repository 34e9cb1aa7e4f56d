// A charging station as its own OS process, for crash tests: `node --import tsx secc-process.ts DIR`
// opens the embedded store in DIR, installs its SECC leaf (once; after a restart it is in the store),
// and serves V2GTP over pinned TLS 1.2 on 127.0.0.1 with the real station (`station.serve`).
// Its CPO backend is the parent's: each port call goes over the IPC channel to the test process,
// which answers it with `busCpoBackend` on the real back office (see `answerBackendCalls`).
// Messages to the parent: { kind: 'listening', port }, { kind: 'receipts', receipts }.
import type { ChildProcess } from 'node:child_process';
import { PncError } from '../../protocols/errors.ts';
import type { CpoBackendPort } from '../../actors/participants/secc/backend.ts';

type BackendMethod = keyof CpoBackendPort;
interface BackendCall { readonly kind: 'backend'; readonly id: number; readonly method: BackendMethod; readonly args: unknown[] }
interface BackendAnswer { readonly kind: 'backend'; readonly id: number; readonly result?: unknown; readonly error?: { code: string; message: string } }

const encodeArg = (arg: unknown) => (arg instanceof Uint8Array ? { bytes: Buffer.from(arg).toString('base64') } : arg);
const decodeArg = (arg: unknown) => (typeof arg === 'object' && arg !== null && 'bytes' in arg ? new Uint8Array(Buffer.from(String((arg as { bytes: string }).bytes), 'base64')) : arg);

/** The parent's half: answers the child's backend calls with `backend` (a refusal goes back as its PncError code). */
export function answerBackendCalls(child: ChildProcess, backend: CpoBackendPort): void {
  child.on('message', async (message: BackendCall | { kind: string }) => {
    if (message.kind !== 'backend') return;
    const call = message as BackendCall;
    let answer: BackendAnswer;
    try {
      const result = await (backend[call.method] as (...args: unknown[]) => Promise<unknown>)(...call.args.map(decodeArg));
      answer = { kind: 'backend', id: call.id, result: encodeArg(result) };
    } catch (error) {
      answer = { kind: 'backend', id: call.id, error: { code: (error as PncError).code ?? 'BackendFailed', message: (error as Error).message } };
    }
    if (child.connected) child.send(answer);
  });
}

/** The child's half: a CpoBackendPort whose calls the parent answers. */
function backendOverIpc(): CpoBackendPort {
  let ids = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  process.on('message', (message: BackendAnswer) => {
    if (message.kind !== 'backend') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiter?.reject(new PncError(message.error.code, message.error.message));
    else waiter?.resolve(decodeArg(message.result));
  });
  const call = <T>(method: BackendMethod, ...args: unknown[]) => new Promise<T>((resolve, reject) => {
    const id = ++ids;
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    process.send!({ kind: 'backend', id, method, args: args.map(encodeArg) } satisfies BackendCall);
  });
  return {
    installContract: (exi, action) => call('installContract', exi, action),
    authorizeContract: (chainPem) => call('authorizeContract', chainPem),
    signSeccCsr: (csrPem) => call('signSeccCsr', csrPem),
    roots: () => call('roots'),
    certificateStatus: (request) => call('certificateStatus', request),
  };
}

async function main(dir: string): Promise<void> {
  const { openEmbeddedStore } = await import('../../actors/store/index.ts');
  const { createMemoryBus } = await import('../../actors/bus/memory.ts');
  const { createSeccStation } = await import('../../actors/participants/secc/index.ts');
  const { V2gtpServer } = await import('../../actors/transport/v2gtp-server.ts');
  const { tlsCredentialsOf } = await import('../../actors/transport/tls.ts');
  const store = await openEmbeddedStore(dir);
  const bus = createMemoryBus({ store });
  const backend = backendOverIpc();
  const station = createSeccStation(bus, store, { backend });
  await station.security.ensureLeaf(backend, { commonName: 'SECC-CRASH', organization: 'Open Plug&Charge CPO' });
  const leaf = await station.security.leaf();
  if (!leaf) throw new Error('no SECC leaf installed');
  const server = await V2gtpServer.start({
    host: '127.0.0.1',
    security: { kind: 'tls', credentials: await tlsCredentialsOf(leaf.chain, leaf.key) },
    onConnection: (socket) => { void station.serve(socket); },
  });
  process.on('message', async (message: { kind: string }) => {
    if (message.kind === 'receipts') process.send!({ kind: 'receipts', receipts: await station.receipts() });
  });
  process.send!({ kind: 'listening', port: server.port });
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  main(process.argv[2]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
