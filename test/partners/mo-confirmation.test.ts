// Issue 9 D1 over a real nats-server, every participant with its own key: the CCP's confirmation
// that it holds a contract is durable work for the MO. The MO is down while the CCP stores and
// confirms; its own look-ups at the CCP (the reconciliation after the `confirm` deadline) are
// dropped throughout, so the contract can reach `installed` only through the queued confirmation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../../actors/bus/bus.ts';
import { FaultState, FaultyBus } from '../../actors/bus/faults.ts';
import { requestSubjectReply, subscribeEvent } from '../../actors/bus/typed.ts';
import { hostParticipants, type Hosting } from '../../actors/cli/run.ts';
import { connectAs } from '../../actors/host/credentials.ts';
import { resolveKek } from '../../actors/host/kek.ts';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { loadParticipants } from '../../actors/participants/index.ts';
import { moParticipant } from '../../actors/participants/mo.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { playStory } from '../../actors/story/index.ts';
import { produceVehicle } from '../../actors/story/vehicle.ts';
import { AUTHORIZATION_FILE, writeCredentials } from '../../deploy/creds.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { natsServerAvailable, startNatsServer } from '../harness/nats.ts';
import { withCleanup, type Defer } from '../harness/cleanup.ts';
import { tempDir } from '../harness/temp-dir.ts';

const log = createLogger({ write: () => {} });

/** Polls `probe` until `done` holds; the limit only ends a hung run, nothing here races it. */
async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, limitMs = 120_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await probe().catch((error: unknown) => error as T);
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

if (natsServerAvailable('MO confirmation NATS suite')) {
  test('the CCP confirms while the MO is down: the restarted MO installs the contract from the queued confirmation, its look-ups at the CCP all dropped', withCleanup(async (defer: Defer) => {
    const dir = tempDir('openpnc-mo-confirm');
    const credsDir = join(dir, 'creds');
    writeCredentials(credsDir);
    const server = await startNatsServer({ extraConfig: readFileSync(join(credsDir, AUTHORIZATION_FILE), 'utf8') });
    defer(() => server.stop());
    const servers = [server.url];
    const host = async (names: string[], dataDir: string): Promise<Hosting> => {
      const hosting = await hostParticipants({ participants: await loadParticipants(names), nats: servers, credentials: credsDir, dataDir: join(dir, dataDir), config: {}, log });
      defer(() => hosting.stop());
      return hosting;
    };

    // The MO's reconciliation asks the CCP with ccp.contracts.list: every such request is dropped.
    const moDir = join(dir, 'mo');
    const startMo = async (): Promise<() => Promise<void>> => {
      const store = await openEmbeddedStore(moDir);
      const bus = await connectAs({ servers, credsDir, name: 'mo', connectionName: 'mo (confirmation test)' });
      const faults = new FaultState();
      faults.set({ rules: [{ subject: ccpInterface.requests.list.subject, drop: 1 }] });
      let running: RunningParticipant | undefined;
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await running?.stop();
        await bus.close();
        await store.close();
      };
      defer(stop);
      running = await moParticipant.start({ bus: new FaultyBus(bus, faults), store, kek: resolveKek({ dataDir: moDir }), config: {}, dataDir: moDir, log });
      return stop;
    };

    await host(['v2g-root', 'rcp', 'pcp', 'ccp', 'oem', 'cpo'], 'pools');
    const cps = await host(['cps'], 'cps');
    let stopMo = await startMo();
    const operator: Bus = await connectAs({ servers, credsDir, name: 'admin', connectionName: 'operator (confirmation test)' });
    defer(() => operator.close());

    // The story's contract is installed with the reconciliation blocked: the confirmation arrived as work.
    const story = await playStory(() => operator, operator);
    assert.is((await requestSubjectReply(operator, moInterface.requests.get, { emaid: story.contract.emaid! })).status, 'installed');

    // The CPS is away: the contract is submitted (its signing request waits in JetStream), then the MO goes down.
    await cps.stop();
    const vehicle = await produceVehicle(operator);
    const submitted = await requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid, contractId: 'confirmed-while-mo-down' });
    assert.is(submitted.status, 'submitted');
    await stopMo();

    // The CPS signs and the CCP stores and confirms, with no MO on the bus to hear of it.
    let announceStored!: () => void;
    const stored = new Promise<void>((resolve) => { announceStored = resolve; });
    const watch = await subscribeEvent(operator, ccpInterface.events.stored, ({ contract }) => {
      if (contract.contractId === 'confirmed-while-mo-down') announceStored();
    }, (error) => assert.unreachable(error.message));
    defer(() => watch.unsubscribe());
    await host(['cps'], 'cps');
    await stored;

    stopMo = await startMo();
    const installed = await eventually('the MO to install the contract', () => requestSubjectReply(operator, moInterface.requests.get, { contractId: 'confirmed-while-mo-down' }), (summary) => summary?.status === 'installed');
    assert.is(installed.emaid, submitted.emaid);
  }));
}

test.run();
