// Issue 11: nobody asks the MO to renew. Its clock (injected) passes the contract's renewal deadline,
// 60 days before notAfter; the MO renews by itself, the CPS signs, the CCP holds the renewal, and the
// EV entering its own 30-day window gets it by CertificateUpdate and charges with it.
import 'reflect-metadata';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from '@peculiar/x509';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import type { SeccStation } from '../../actors/participants/secc/index.ts';
import type { Ev } from '../../actors/participants/ev/index.ts';
import type { TraceEntry } from '../../actors/participants/v2g/runner.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { DEFAULT_RENEWAL_WINDOW_MS } from '../../statecharts/mo.ts';
import { storyParticipants } from '../partners/helpers.ts';
import { nearExpiry } from './helpers.ts';
import { ManualClock } from '../harness/manual-clock.ts';
import { until } from '../harness/until.ts';

let story: StoryResult;
let secc: SeccStation;
let ev: Ev;
let admin: ReturnType<StoryResult['identities']['handle']>;
const moClock = new ManualClock(Date.now());
const trace: TraceEntry[] = [];

test.before(async () => {
  // Only the MO runs on the test's clock: its deadlines fire when the test moves it.
  const participants = storyParticipants().map((definition) => (definition.name === 'mo' ? { ...definition, start: (context: Parameters<typeof definition.start>[0]) => definition.start({ ...context, clock: moClock }) } : definition));
  story = await runStory({ participants, print: () => {} });
  ({ admin, secc, ev } = await nearExpiry(story, 10, { trace: (entry) => trace.push(entry) }));
});
test.after(async () => {
  await story?.stop();
});

const contract = () => requestSubjectReply(admin, moInterface.requests.get, { emaid: story.contract.emaid! });

test('the MO renews at its deadline by itself, not before; the EV gets the renewal by CertificateUpdate and charges with it', async () => {
  const notAfter = new X509Certificate(Buffer.from(story.contract.contractCertificate!, 'base64')).notAfter.getTime();
  const renewAt = notAfter - DEFAULT_RENEWAL_WINDOW_MS;
  moClock.advance(renewAt - moClock.now() - 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.is((await contract()).renewedCertificate, undefined, 'nothing renewed a millisecond before the deadline');
  moClock.advance(1);
  await until('the renewal in the CCP', async () => {
    moClock.advance(0); // a contract woken from the store fires its passed deadline on the clock's next turn
    return (await contract()).renewedCertificate !== undefined;
  }, 30_000);
  const renewed = await contract();
  assert.is(renewed.status, 'installed');
  const old = (await ev.contracts.valid())!;
  const [charger, car] = duplexPair();
  trace.length = 0;
  const [, evOutput] = await Promise.all([secc.serve(charger), ev.charge(car, { loopIntervalMs: 0, energyMode: 'AC_three_phase_core', targetSoc: ev.battery.soc + 0.2, updateContract: true })]);
  assert.is(evOutput.outcome, 'completed', evOutput.reason);
  const received = trace.filter((e) => e.side === 'secc' && e.direction === 'in').map((e) => e.name);
  assert.ok(received.includes('CertificateUpdateReq'), received.join(' '));
  const now = (await ev.contracts.valid())!;
  assert.is.not(now.certificate, old.certificate);
  assert.is(Buffer.from(now.certificate, 'hex').toString('base64'), renewed.renewedCertificate);
  assert.is(now.emaid, old.emaid);
});

test.run();
