// A back office on a real, authenticated nats-server for the charging-session suites: every back-office
// participant in one `openpnc run … --nats --creds` process in this namespace, the roots in the RCP,
// and a way in for a process inside a network namespace (whose loopback is not ours): a relay from a
// port on the namespace's loopback over a Unix socket (paths cross namespaces) to the server.
import * as assert from 'uvu/assert';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startSecuredNats, TAP, type SecuredNats } from './creds.ts';
import { must, startIn, startProcess, type Started } from './netns.ts';
import { putRootsInRcp } from '../../actors/story/index.ts';

const CLI = new URL('../../bin/openpnc.js', import.meta.url).pathname;
export const BACK_OFFICE = ['v2g-root', 'rcp', 'pcp', 'ccp', 'oem', 'mo', 'cps', 'cpo'];

/** Both ends of a relayed connection close together. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

/** The relay inside a namespace: 127.0.0.1:PORT there → the Unix socket at PATH. */
const NAMESPACE_RELAY = `const net = require('node:net'); const [path, port] = process.argv.slice(1);
net.createServer((c) => { const u = net.connect(path); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
  .listen(Number(port), '127.0.0.1', () => console.log('relay ready'));`;

/**
 * The factory and the customer, as CLI processes in this namespace: `openpnc vehicle produce` (the
 * vehicle's own key, its CSR signed by the OEM) into `vehicleDir`, then `openpnc vehicle contract`.
 * @returns the EMAID the MO concluded
 */
export async function labVehicle(office: BackOffice, vehicleDir: string): Promise<string> {
  const { url, credsDir } = office.nats;
  const produce = startProcess([process.execPath, CLI, 'vehicle', 'produce', '--nats', url, '--creds', credsDir, '--out', vehicleDir], 60_000);
  assert.is(await produce.exited, 0, produce.output());
  const contract = startProcess([process.execPath, CLI, 'vehicle', 'contract', '--nats', url, '--creds', credsDir, '--vehicle', vehicleDir], 60_000);
  assert.is(await contract.exited, 0, contract.output());
  const emaid = /EMAID (\w+), installed/.exec(contract.output())?.[1];
  assert.ok(emaid, contract.output());
  return emaid;
}

export interface BackOffice {
  readonly nats: SecuredNats;
  readonly process: Started;
  /** The NATS URL a process in `ns` uses (a relay started there on first use). */
  urlIn(ns: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBackOffice(dir: string): Promise<BackOffice> {
  const nats = await startSecuredNats({ extraUsers: { tap: TAP } });
  const port = Number(new URL(nats.url).port);
  const host = startProcess([process.execPath, CLI, 'run', ...BACK_OFFICE, '--nats', nats.url, '--creds', nats.credsDir, '--data', join(dir, 'back-office')], 110_000);
  await host.waitFor(/"event":"host.ready"/);
  const admin = await nats.connect('admin');
  await putRootsInRcp(admin);
  const relays: Array<{ server: Server; inside: Started }> = [];
  const spliced = new Set<Socket>();
  const urls = new Map<string, Promise<string>>();
  // One relay per namespace, alive until stop() (the test runner ends its process group in any case).
  const relayInto = async (ns: string): Promise<string> => {
    must('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    const path = join(dir, `nats-${ns}.sock`);
    const server = createServer((socket) => {
      spliced.add(socket);
      socket.on('close', () => spliced.delete(socket));
      splice(socket, createConnection(port, '127.0.0.1'));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const inside = startIn(ns, [process.execPath, '-e', NAMESPACE_RELAY, path, '14222'], 600_000);
    relays.push({ server, inside });
    await inside.waitFor(/relay ready/);
    return 'nats://127.0.0.1:14222';
  };
  return {
    nats, process: host,
    urlIn(ns) {
      let url = urls.get(ns);
      if (!url) urls.set(ns, (url = relayInto(ns)));
      return url;
    },
    async stop() {
      for (const { server, inside } of relays) {
        inside.child.kill('SIGKILL');
        spliced.forEach((socket) => socket.destroy());
        await new Promise((resolve) => server.close(resolve));
      }
      host.child.kill('SIGTERM');
      await host.exited;
      await nats.stop();
    },
  };
}
