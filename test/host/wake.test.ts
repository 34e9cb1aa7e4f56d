// Issue 11: deadlines of released actors fire. A released actor (or one not restored after a restart)
// has no timer; the wake index (actors/host/wake.ts) hosts it again when its earliest deadline comes,
// also months ahead (beyond setTimeout's range), and never before. Time is a ManualClock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assign, fromPromise, setup } from 'xstate';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { ACTORS_COLLECTION, createLogger, type ActorRecord, type HostContext } from '../../actors/host/index.ts';
import { WAKE_COLLECTION, type WakeDoc } from '../../actors/host/wake.ts';
import { HostedActors } from '../../actors/participants/hosted.ts';
import { openEmbeddedStore, type Store } from '../../actors/store/index.ts';
import { contractMachine, DEFAULT_RENEWAL_WINDOW_MS, RENEW_DEADLINE, upgradeContractSnapshotV3 } from '../../statecharts/mo.ts';
import { withDeadline, type Deadlines } from '../../statecharts/deadlines.ts';
import { ManualClock } from '../harness/manual-clock.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { until } from '../harness/until.ts';

const DAY_MS = 86_400_000;
let store: Store;
let bus: Bus;

test.before(async () => {
  store = await openEmbeddedStore(tempDir('openpnc-wake'));
  bus = createMemoryBus({ store });
});
test.after(async () => {
  await bus?.close();
  await store?.close();
});


const records = () => store.collection<ActorRecord>(ACTORS_COLLECTION);
const wakes = () => store.collection<WakeDoc>(WAKE_COLLECTION);

/** A reminder that rings at its deadline: idle (releasable) while it waits. */
const reminder = setup({ types: { context: {} as { deadlines?: Deadlines }, input: {} as { at: number }, events: {} as { type: 'deadline.ring'; at: number; now: number } } }).createMachine({
  id: 'reminder',
  context: ({ input }) => ({ deadlines: withDeadline(undefined, 'ring', input.at) }),
  initial: 'waiting',
  states: { waiting: { tags: ['idle'], on: { 'deadline.ring': { target: 'rang', actions: assign({ deadlines: {} }) } } }, rang: { type: 'final' } },
});

test('a released actor is hosted again when its deadline comes, not before; its wake entry goes when the deadline is consumed', async () => {
  const clock = new ManualClock();
  const context: HostContext = { bus, store, log: createLogger({ write: () => {} }), clock };
  const hosted = new HostedActors({ participant: 'reminders', logic: reminder, context, idle: (s) => s.hasTag('idle'), idleMs: 20 });
  try {
    await hosted.ready;
    const at = clock.now() + 40 * DAY_MS; // beyond setTimeout's 24.8 days: armed in steps
    await hosted.get('r1', { at });
    assert.equal(await wakes().get('reminders/r1'), { _id: 'reminders/r1', _rev: 1, participant: 'reminders', actorId: 'r1', at });
    await until('the idle reminder released', () => hosted.size === 0);
    clock.advance(at - clock.now() - 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(hosted.size, 0, 'not woken before its deadline');
    assert.is((await records().get('reminders/r1'))!.value, 'waiting');
    clock.advance(1);
    await until('the reminder rang', async () => {
      clock.advance(0); // the restored actor fires its passed deadline on the clock's next turn
      return (await records().get('reminders/r1'))!.status === 'done';
    });
    // Removed right after the record that consumed the deadline.
    await until('the wake entry removed', async () => (await wakes().get('reminders/r1')) === undefined);
  } finally {
    await hosted.stopAll();
  }
});

test('after a restart the wake index is read again: an actor nobody restored is hosted at its deadline', async () => {
  const clock = new ManualClock();
  const context: HostContext = { bus, store, log: createLogger({ write: () => {} }), clock };
  const options = { participant: 'restarted', logic: reminder, context, idle: (s: { hasTag(tag: string): boolean }) => s.hasTag('idle'), idleMs: 20 };
  const first = new HostedActors(options);
  const at = clock.now() + 3 * DAY_MS;
  await first.get('r2', { at });
  await first.stopAll(); // the process ends with the actor still hosted
  const second = new HostedActors(options);
  try {
    await second.ready;
    clock.advance(at - clock.now() - 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(second.size, 0);
    clock.advance(1);
    await until('the reminder rang', async () => {
      clock.advance(0);
      return (await records().get('restarted/r2'))!.status === 'done';
    });
  } finally {
    await second.stopAll();
  }
});

/** The MO machine with stand-in effects: certificates as the MO would make them, two years long. */
function moLogic(clock: ManualClock, renewals: number[]) {
  const contractData = { emaid: 'DEOPN123456789X', contractSignatureCertChain: { certificate: 'AAAA', subCertificates: [] }, dhPublicKey: 'ZGg=', contractSignatureEncryptedPrivateKey: 'a2V5' };
  return contractMachine.provide({
    actors: {
      fetchProvisioningChain: fromPromise(async () => ({ certificate: 'AAAA', subCertificates: [] })),
      verifyProvisioningChain: fromPromise(async () => undefined),
      issueContract: fromPromise(async () => ({ emaid: contractData.emaid, contractData, serialNumber: '1f', notAfter: clock.now() + 730 * DAY_MS })),
      submitToCps: fromPromise(async () => ({ at: clock.now() })),
      issueRenewal: fromPromise(async ({ input }: { input: { renewal: number } }) => {
        renewals.push(input.renewal);
        return { emaid: contractData.emaid, contractData, serialNumber: `2${input.renewal}`, notAfter: clock.now() + 730 * DAY_MS, renewalOf: 'ab', renewalId: `c:renewal-${input.renewal}` };
      }),
      submitRenewal: fromPromise(async () => ({ at: clock.now() })),
    } as never,
  });
}

test('MO: a contract whose actor was released and whose process restarted renews by itself when the clock passes its renewal deadline, not before', async () => {
  const clock = new ManualClock();
  const context: HostContext = { bus, store, log: createLogger({ write: () => {} }), clock };
  const renewals: number[] = [];
  const options = { participant: 'mo-wake', logic: moLogic(clock, renewals), context, idle: (s: { hasTag(tag: string): boolean }) => s.hasTag('installed'), idleMs: 20 };
  const first = new HostedActors(options);
  const actor = await first.get('c1', { contractId: 'c1', pcid: 'OPNABCDEFGHIJKLMN1' });
  await actor.waitFor((s) => s.matches('submitted'), 5_000);
  await actor.send({ type: 'CONTRACT_STORED' });
  const renewAt = actor.getSnapshot().context.deadlines![RENEW_DEADLINE]!;
  assert.is(renewAt, actor.getSnapshot().context.issued!.notAfter - DEFAULT_RENEWAL_WINDOW_MS);
  await until('the installed contract released', () => first.size === 0);
  assert.is((await wakes().get('mo-wake/c1'))?.at, renewAt);
  await first.stopAll();
  const second = new HostedActors(options);
  try {
    await second.ready;
    clock.advance(renewAt - clock.now() - 1); // 670 days, in setTimeout-sized steps
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(renewals, [], 'no renewal before the deadline');
    clock.advance(1);
    await until('the renewal submitted', async () => {
      clock.advance(0);
      return (await records().get('mo-wake/c1'))!.value === 'renewalSubmitted';
    });
    assert.equal(renewals, [1]);
    const record = (await records().get('mo-wake/c1'))!;
    assert.ok(record.tags?.includes('installed'));
  } finally {
    await second.stopAll();
  }
});

test('MO: a version-3 snapshot of an installed contract is restored by version 4 with its renewal deadline armed and indexed', async () => {
  const clock = new ManualClock();
  const context: HostContext = { bus, store, log: createLogger({ write: () => {} }), clock };
  const renewals: number[] = [];
  const notAfter = clock.now() + 100 * DAY_MS;
  const options = {
    participant: 'mo-v3', logic: moLogic(clock, renewals), context, idle: (s: { hasTag(tag: string): boolean }) => s.hasTag('installed'), idleMs: 20,
    upgrades: { '3': (snapshot: unknown, now: number) => upgradeContractSnapshotV3(snapshot, { notAfterOf: () => notAfter, renewalWindowMs: DEFAULT_RENEWAL_WINDOW_MS, now }) },
  };
  const hosted = new HostedActors(options);
  try {
    const actor = await hosted.get('c3', { contractId: 'c3', pcid: 'OPNABCDEFGHIJKLMN1' });
    await actor.waitFor((s) => s.matches('submitted'), 5_000);
    await actor.send({ type: 'CONTRACT_STORED' });
    await until('released', () => hosted.size === 0);
    // What version 3 wrote: no notAfter, no renewal deadline, and no wake entry.
    const record = (await records().get('mo-v3/c3'))!;
    const snapshot = record.snapshot as { context: { issued: Record<string, unknown>; deadlines: Record<string, number> } };
    const { notAfter: _dropped, ...issuedV3 } = snapshot.context.issued;
    await records().replace({ ...record, version: '3', snapshot: { ...snapshot, context: { ...snapshot.context, issued: issuedV3, deadlines: {} } } });
    await wakes().delete('mo-v3/c3');
    assert.ok((await hosted.stored(['installed'])).unfinished.has('c3'), 'an installed contract of version 3 is resumed at start, so it is upgraded and indexed');
    const restored = await hosted.get('c3', { contractId: 'c3', pcid: 'OPNABCDEFGHIJKLMN1' });
    assert.is(restored.getSnapshot().value, 'installed');
    assert.is(restored.getSnapshot().context.deadlines?.[RENEW_DEADLINE], notAfter - DEFAULT_RENEWAL_WINDOW_MS);
    assert.is((await records().get('mo-v3/c3'))!.version, '4');
    assert.is((await wakes().get('mo-v3/c3'))?.at, notAfter - DEFAULT_RENEWAL_WINDOW_MS);
  } finally {
    await hosted.stopAll();
  }
});

test.run();
