// The back office over a real nats-server that authenticates every client (issue 9, S1–S4): every
// participant hosted with its own credential (`openpnc deploy creds`), and what an outsider, or a
// process holding the MO's credential, tries: connect without a key, serve another participant's
// queue group, get a V2G Sub-CA 1 [S1], write a root by claiming `admin` in the payload [S2], read and
// terminate another MO's contracts [S3], read `inspect.*`; and a tap on `>` during a whole story that
// must find no private key and no seed on the wire [S4].
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../../actors/bus/bus.ts';
import { connectNatsBus } from '../../actors/bus/nats.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { createLogger } from '../../actors/host/log.ts';
import { hostParticipants, type Hosting } from '../../actors/cli/run.ts';
import { base64Of, makeCsr } from '../../actors/participants/authority.ts';
import { backOfficeParticipantNames, loadParticipants } from '../../actors/participants/index.ts';
import { playStory, type PlayedStory } from '../../actors/story/index.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { PncError } from '../../protocols/errors.ts';
import { exportPkcs8, issueCertificate } from '../../protocols/pki/index.ts';
import { natsServerAvailable } from '../harness/nats.ts';
import { startSecuredNats, TAP, type SecuredNats } from '../harness/creds.ts';
import { assertNoPrivateKeys, PKCS8_P256_PREFIX, tapEverything, type Tap } from '../harness/tap.ts';

async function refusal(promise: Promise<unknown>): Promise<PncError> {
  try {
    await promise;
  } catch (error) {
    return PncError.is(error) ? error : new PncError('Internal', String(error));
  }
  throw new assert.Assertion({ message: 'expected a refusal', operator: 'rejects', expects: 'PncError', actual: 'resolved' });
}

async function csr(commonName: string): Promise<string> {
  return base64Of((await makeCsr({ commonName, organization: 'Mallory' })).csr);
}

if (natsServerAvailable('NATS credentials suite')) {
  let nats: SecuredNats;
  let hosting: Hosting;
  let admin: Bus;
  let story: PlayedStory;
  let dataDir: string;
  let tap: Tap;
  /** Every log line the participants wrote. */
  const logs: string[] = [];

  test.before(async () => {
    nats = await startSecuredNats({ extraUsers: { tap: TAP } });
    dataDir = mkdtempSync(join(tmpdir(), 'openpnc-creds-data-'));
    tap = await tapEverything(nats);
    hosting = await hostParticipants({
      participants: await loadParticipants(backOfficeParticipantNames), nats: [nats.url], credentials: nats.credsDir, dataDir, config: {}, log: createLogger({ write: (line) => void logs.push(line) }),
    });
    admin = await nats.connect('admin');
    story = await playStory(() => admin, admin);
  });

  test.after(async () => {
    await tap?.close();
    await hosting?.stop();
    await nats?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('a client without credentials cannot connect; with a credential it cannot serve another participant\'s queue group', async () => {
    const anonymous = await refusal(connectNatsBus({ servers: nats.url, name: 'mallory' }));
    assert.is(anonymous.code, 'BusUnavailable');
    assert.match(anonymous.message, /Authorization Violation/);
    // The MO's key tries to join the RCP's queue group on rcp.roots.put: the server never delivers to it.
    const mo = await nats.connect('mo');
    let stolen = 0;
    await mo.serve(rcpInterface.requests.put.subject, () => { stolen++; return {}; }, { queue: 'rcp' });
    const root = await issueCertificate({ role: 'v2gRoot', subject: { commonName: 'Operator Test Root', organization: 'Open Plug&Charge' } });
    for (let i = 0; i < 6; i++) {
      const reply = await requestSubjectReply(admin, rcpInterface.requests.put, { caCertificate: base64Of(root.certificate.rawData), rootType: 'V2G' });
      assert.is(reply.root.commonName, 'Operator Test Root');
    }
    assert.is(stolen, 0);
  });

  test('[S1] V2G Sub-CA 1 only for the domain\'s own participant: not the MO, not a forged identity, not the other domain', async () => {
    const mo = await nats.connect('mo');
    const byMo = await refusal(requestSubjectReply(mo, v2gRootInterface.requests.issueSubCa, { domain: 'cpo', csr: await csr('Mallory CPO Sub-CA 1') }));
    assert.is(byMo.code, 'Forbidden'); // the server refuses the MO's publish on v2g-root.subca.issue
    // The CPS's key, but the request is not signed with it: no identity, no certificate.
    const unsigned = await nats.connectUnsigned('cps');
    assert.is((await refusal(requestSubjectReply(unsigned, v2gRootInterface.requests.issueSubCa, { domain: 'cps', csr: await csr('Mallory') }))).code, 'Unauthenticated');
    const cps = await nats.connect('cps');
    assert.is((await refusal(requestSubjectReply(cps, v2gRootInterface.requests.issueSubCa, { domain: 'cpo', csr: await csr('Mallory') }))).code, 'Forbidden');
    // The positive control: the CPO domain's own participant gets its Sub-CA 1.
    const cpo = await nats.connect('cpo');
    const issued = await requestSubjectReply(cpo, v2gRootInterface.requests.issueSubCa, { domain: 'cpo', csr: await csr('CPO Sub-CA 1 (second)') });
    assert.ok(issued.certificate.length > 100);
  });

  test('[S2] a root goes into the RCP only from the operator: a `caller: admin` in the payload changes nothing', async () => {
    const root = await issueCertificate({ role: 'v2gRoot', subject: { commonName: 'Mallory Root', organization: 'Mallory' } });
    const request = { caller: { role: 'admin', prefixes: [] }, caCertificate: base64Of(root.certificate.rawData), rootType: 'V2G' } as never;
    const mo = await nats.connect('mo');
    const { caller: _claimed, ...plain } = request as { caller: unknown; caCertificate: string; rootType: 'V2G' };
    assert.is((await refusal(requestSubjectReply(mo, rcpInterface.requests.put, request))).code, 'InvalidPayload');
    assert.is((await refusal(requestSubjectReply(mo, rcpInterface.requests.put, plain))).code, 'Forbidden');
    // The gateway's key may call the RCP, on behalf of a token's identity only: an MO stays an MO, `pool` cannot be claimed.
    const gateway = await nats.connect('opcp');
    // A `caller` field is not part of any request: the strict schema refuses it outright (issue 8).
    assert.is((await refusal(requestSubjectReply(gateway.actingFor({ role: 'mo', prefixes: ['DEOPN'] }), rcpInterface.requests.put, request))).code, 'InvalidPayload');
    assert.is((await refusal(requestSubjectReply(gateway.actingFor({ role: 'mo', prefixes: ['DEOPN'] }), rcpInterface.requests.put, plain))).code, 'Forbidden');
    assert.is((await refusal(requestSubjectReply(gateway.actingFor({ role: 'pool', prefixes: [] }), rcpInterface.requests.put, plain))).code, 'Unauthenticated');
    const { roots } = await requestSubjectReply(admin, rcpInterface.requests.list, {});
    assert.not.ok(roots.some((r) => r.commonName === 'Mallory Root'));
  });

  test('[S3] the MO\'s credential reads only its own contracts from the CCP and terminates none; another MO\'s identity sees none of them', async () => {
    const emaid = story.contract.emaid;
    const mo = await nats.connect('mo');
    // Its own EMAIDs it may look up (a lost confirmation is reconciled so, issue 9 D1); another MO's prefix it may not.
    assert.is((await requestSubjectReply(mo, ccpInterface.requests.list, { emaid })).contracts.length, 1);
    assert.is((await refusal(requestSubjectReply(mo, ccpInterface.requests.list, { emaid: 'DEXYZC00000001' }))).code, 'Forbidden');
    assert.is((await refusal(requestSubjectReply(mo, moInterface.requests.terminate, { emaid: emaid! }))).code, 'Forbidden');
    // It may delete contracts at the CCP, but only under its own EMAID prefix (the roster binds DEOPN to it).
    assert.is((await refusal(requestSubjectReply(mo, ccpInterface.requests.delete, { emaid: 'DEXYZC00000001' }))).code, 'Forbidden');
    const otherMo = (await nats.connect('opcp')).actingFor({ role: 'mo', prefixes: ['DEXYZ'] });
    assert.is((await refusal(requestSubjectReply(otherMo, ccpInterface.requests.list, { emaid }))).code, 'Forbidden');
    assert.is((await refusal(requestSubjectReply(otherMo, ccpInterface.requests.delete, { emaid: emaid! }))).code, 'Forbidden');
    assert.is((await refusal(requestSubjectReply(otherMo, moInterface.requests.terminate, { emaid: emaid! }))).code, 'Forbidden');
    // The contract is untouched: the CCP still has it and the MO still says installed.
    const ownMo = (await nats.connect('opcp')).actingFor({ role: 'mo', prefixes: ['DEOPN'] });
    assert.is((await requestSubjectReply(ownMo, ccpInterface.requests.list, { emaid })).contracts.length, 1);
    assert.is((await requestSubjectReply(admin, moInterface.requests.get, { emaid })).status, 'installed');
  });

  test('inspect.* is for the inspector only', async () => {
    const seenByMo: string[] = [];
    const seenByInspector: string[] = [];
    const mo = await nats.connect('mo');
    await mo.subscribe('inspect.>', (delivery) => void seenByMo.push(delivery.subject));
    const inspector = await nats.connect('inspector');
    await inspector.subscribe('inspect.>', (delivery) => void seenByInspector.push(delivery.subject));
    await requestSubjectReply(admin, moInterface.requests.conclude, { pcid: story.vehicle.pcid, customerId: 'inspected' });
    const until = Date.now() + 10_000;
    while (!seenByInspector.some((subject) => subject.startsWith('inspect.mo.')) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(seenByInspector.some((subject) => subject.startsWith('inspect.mo.')), 'the inspector sees the MO\'s actors');
    assert.equal(seenByMo, []);
  });

  test('[S4] a tap on `>` during the whole story finds no private key, no seed and no contract key in clear; nor do the logs', async () => {
    assert.ok(logs.some((line) => line.includes('"event":"vehicle.produced"')), 'the participants logged');
    const text = `${tap.wire.join('\n')}\n${logs.join('\n')}`;
    // The tap really saw the story: production, the OEM's and MO's actor snapshots, the installation.
    for (const subject of ['oem.vehicle.produce', 'inspect.oem.', 'inspect.mo.', 'cpo.certificate.install', 'pnc.work.cps.signing']) assert.ok(text.includes(subject), `the tap saw ${subject}`);
    assert.ok(tap.wire.length > 50, `${tap.wire.length} messages`);
    const vehicleKey = Buffer.from(await exportPkcs8(story.vehicle.provisioningKey));
    assert.ok(vehicleKey.toString('base64').startsWith(PKCS8_P256_PREFIX), 'the PKCS#8 prefix searched for');
    assertNoPrivateKeys(text, [['the provisioning key', vehicleKey], ['the contract key', Buffer.from(story.check.contractKeyScalar)]], nats.credsDir);
  });

  test.run();
}
