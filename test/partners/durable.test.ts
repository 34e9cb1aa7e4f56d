// Issue 9: nothing lost when a partner is away or a participant restarts (in-process bus, one store).
// Each test names the defect it covers; every one of them failed before the change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus, DEAD_LETTER_COLLECTION } from '../../actors/bus/memory.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Store } from '../../actors/store/store.ts';
import { playStory } from '../../actors/story/index.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { PncError } from '../../protocols/errors.ts';
import { storyParticipants } from './helpers.ts';
import { LocalIdentities } from '../../actors/bus/identity.ts';
import { participantHandle } from '../../actors/host/credentials.ts';
import { produceVehicle } from '../../actors/story/vehicle.ts';
import { makePcid } from '../../protocols/identifiers/index.ts';
import { pcidCheckCharacter } from '../../actors/participants/oem.ts';

const OEM = { role: 'oem' as const, prefixes: ['OPN'] };

let store: Store;
let bus: Bus;
const identities = new LocalIdentities();
/** The story's operator and an OEM client: requests carry an authenticated identity, as the participants require. */
let operator: Bus;
let asOem: Bus;
const running = new Map<string, RunningParticipant>();
const definitions = storyParticipants();
let dataDir: string;

async function start(name: string): Promise<void> {
  running.set(name, await definitions.find((d) => d.name === name)!.start({ bus: participantHandle(identities, bus, name), store, log: createLogger({ write: () => {} }), dataDir, config: { ackWaitMs: '1000' } }));
}
async function stop(name: string): Promise<void> {
  await running.get(name)?.stop();
  running.delete(name);
}

async function rejects(promise: Promise<unknown>, code: string): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, PncError);
    assert.is((error as PncError).code, code, (error as PncError).message);
    return error as PncError;
  }
  throw new assert.Assertion({ message: `expected ${code}`, operator: 'rejects', expects: code, actual: 'resolved' });
}

/** Polls until `done` holds; the polling never touches the participant under test unless `probe` does. */
async function eventually<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((error) => error as T);
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whatever a test stopped runs again afterwards, also when it failed. */
async function startStopped(): Promise<void> {
  for (const definition of definitions) if (!running.has(definition.name)) await start(definition.name).catch(() => {});
}
test.after.each(startStopped);

const ccpContracts = (pcid: string) => requestSubjectReply(asOem, ccpInterface.requests.list, { pcid }).then((r) => r.contracts);

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'openpnc-durable-'));
  store = await openEmbeddedStore(dataDir);
  bus = createMemoryBus({ store });
  operator = identities.handle(bus, 'admin', { role: 'admin', prefixes: [] });
  asOem = identities.handle(bus, 'oem-client', OEM);
  for (const definition of definitions) await start(definition.name);
  await playStory(() => operator, operator);
});

test.after(async () => {
  for (const name of [...running.keys()]) await stop(name).catch(() => {});
  await bus.close();
  await store.close();
});

test('D7, issue 8, D4: a PCP outage answers PoolUnavailable (retryable) and no made-up EMAID; the MO resumes the contract after a restart, and repairs an index row without actor', async () => {
  const vehicle = await produceVehicle(operator);
  const orphanVehicle = await produceVehicle(operator);
  await stop('pcp');
  const unnamed = await rejects(requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid }), 'PoolUnavailable');
  assert.is(unnamed.retryable, true);
  const named = await rejects(requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid, contractId: 'durable-d4' }), 'PoolUnavailable');
  assert.is(named.retryable, true);
  const waiting = await requestSubjectReply(operator, moInterface.requests.get, { contractId: 'durable-d4' });
  assert.is(waiting.status, 'concluding');
  assert.is(waiting.emaid, undefined);

  // The MO stops while the contract waits; an index row whose actor was never made is added.
  await stop('mo');
  await store.collection<{ _id: string; pcid: string }>('mo.contract-index').insert({ _id: 'durable-orphan', pcid: orphanVehicle.pcid });
  await start('pcp');
  await start('mo');
  // Nobody asks the MO: the contracts reach the CCP because the MO resumed them by itself.
  const [stored] = await eventually('the resumed contract in the CCP', () => ccpContracts(vehicle.pcid), (c) => Array.isArray(c) && c.length === 1);
  assert.is(stored.contractId, 'durable-d4');
  const [repaired] = await eventually('the repaired contract in the CCP', () => ccpContracts(orphanVehicle.pcid), (c) => Array.isArray(c) && c.length === 1);
  assert.is(repaired.contractId, 'durable-orphan');
  const installed = await eventually('installed', () => requestSubjectReply(operator, moInterface.requests.get, { contractId: 'durable-d4' }), (c) => c.status === 'installed');
  assert.is(installed.emaid?.slice(0, 14), stored.emaid);
  // Asking again with the same contractId is the same contract, not a second one.
  assert.is((await requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid, contractId: 'durable-d4' })).emaid, installed.emaid);
  assert.is((await ccpContracts(vehicle.pcid)).length, 1);
});

test('D2: a vehicle whose upload failed is uploaded by the OEM itself once the PCP is back; asking again waits for it instead of VehicleExists', async () => {
  await stop('pcp');
  const failed = await rejects(produceVehicle(operator, 'DURABLED200001'), 'PcpUploadFailed');
  assert.is(failed.retryable, true);
  const pcid = makePcid('OPN', 'DURABLED200001', pcidCheckCharacter('OPNDURABLED200001'));
  await start('pcp');
  await eventually('the vehicle in the PCP', () => requestSubjectReply(asOem, pcpInterface.requests.lookup, { pcid }), (r) => r.exists === true);
  await rejects(produceVehicle(operator, 'DURABLED200001'), 'VehicleExists');
  const contract = await requestSubjectReply(operator, moInterface.requests.conclude, { pcid });
  assert.ok(['submitted', 'installed'].includes(contract.status));
});

test('D3: a restarted CPS that cannot reach the RCP does not dead-letter the contract; it signs once the RCP is back', async () => {
  const vehicle = await produceVehicle(operator);
  const deadBefore = await store.collection(DEAD_LETTER_COLLECTION).count();
  await stop('rcp');
  await stop('cps');
  await start('cps').catch(() => undefined); // its root pool is empty now
  const contract = await requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid });
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // a few deliveries fail on the RCP
  assert.is(await store.collection(DEAD_LETTER_COLLECTION).count(), deadBefore);
  await start('rcp');
  await eventually('the contract in the CCP', () => ccpContracts(vehicle.pcid), (c) => Array.isArray(c) && c.length === 1, 45_000);
  assert.is(await store.collection(DEAD_LETTER_COLLECTION).count(), deadBefore);
  await eventually('installed', () => requestSubjectReply(operator, moInterface.requests.get, { contractId: contract.contractId }), (c) => c.status === 'installed');
});

test('D8: a restarted PCP serves chains while the RCP is unreachable, with the roots it knew', async () => {
  const vehicle = await produceVehicle(operator);
  await requestSubjectReply(asOem, pcpInterface.requests.get, { pcid: vehicle.pcid });
  await stop('pcp');
  await stop('rcp');
  await start('pcp');
  const { chain } = await requestSubjectReply(asOem, pcpInterface.requests.get, { pcid: vehicle.pcid });
  assert.is(chain.pcid, vehicle.pcid);
  await start('rcp');
});

test('malformed confirmations are dropped or dead-lettered, one from anyone but a pool is refused, and the MO keeps serving', async () => {
  for (const [subject, payload] of [['cps.contract.rejected', { contractId: 42 }], ['ccp.contract.deleted', { reason: 'vehicle' }], ['ccp.contract.deleted', 'x'.repeat(10_000)]] as const) {
    await bus.publish(subject, payload);
  }
  // D1: the CCP's confirmation is durable work; junk and a confirmation the operator made up are buried, not taken.
  const queue = moInterface.work.contractStored.queue;
  const letters = () => store.collection<{ queue: string; error: { code: string } } & { _id: string }>(DEAD_LETTER_COLLECTION).find({ queue });
  await operator.enqueue(queue, { contract: 'junk' });
  await operator.enqueue(queue, { contractId: 'made-up', pcid: 'x', emaid: 'DEOPNC000000001' });
  const made = await produceVehicle(operator);
  await operator.enqueue(queue, { contractId: 'made-up', pcid: made.pcid, emaid: 'DEOPNC000000001' });
  const buried = await eventually('three dead letters', letters, (found) => Array.isArray(found) && found.length === 3);
  assert.equal(buried.map((letter) => letter.error.code).sort(), ['Forbidden', 'InvalidPayload', 'InvalidPayload']);
  const vehicle = await produceVehicle(operator);
  const contract = await requestSubjectReply(operator, moInterface.requests.conclude, { pcid: vehicle.pcid });
  await eventually('installed', () => requestSubjectReply(operator, moInterface.requests.get, { contractId: contract.contractId }), (c) => c.status === 'installed');
});

test.run();
