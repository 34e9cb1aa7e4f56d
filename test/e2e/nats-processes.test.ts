// Processes 1–6 with every participant in its own OS process, talking over a real NATS server
// (request/reply on NATS core, the CPS signing work on JetStream).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../../actors/bus/bus.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { playStory } from '../../actors/story/index.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { validateChain } from '../../protocols/pki/index.ts';
import { certificateOf } from '../../actors/participants/authority.ts';
import { natsServerAvailable } from '../harness/nats.ts';
import { startSecuredNats, type SecuredNats } from '../harness/creds.ts';
import { PARTICIPANTS, participantsReady, startParticipantProcess, type ParticipantProcess } from './processes.ts';

if (natsServerAvailable('NATS end-to-end suite')) {
  let nats: SecuredNats;
  /** The OPCP gateway's credential acting for the OEM OPN: how an OEM lists its contracts. */
  let asOem: Bus;
  let bus: Bus;
  let processes: ParticipantProcess[] = [];

  test.before(async () => {
    nats = await startSecuredNats();
    const dataRoot = mkdtempSync(join(tmpdir(), 'openpnc-e2e-'));
    processes = PARTICIPANTS.map((name) => startParticipantProcess(name, nats.url, dataRoot, ['--creds', nats.credsDir]));
    bus = await nats.connect('admin');
    asOem = (await nats.connect('opcp')).actingFor({ role: 'oem', prefixes: ['OPN'] });
    try {
      await participantsReady(bus);
    } catch (error) {
      for (const p of processes) console.error(`--- ${p.name}\n${p.output().slice(-2000)}`);
      throw error;
    }
  });

  test.after(async () => {
    await bus?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await nats?.stop();
  });

  test('processes 1–6 across eight OS processes over NATS: the vehicle verifies its contract', async () => {
    const lines: string[] = [];
    const played = await playStory(() => bus, bus, (line) => lines.push(line));
    // The CertificateInstallationRes decoded, its signature verified with the CPS leaf, the CPS chain
    // validated to the vehicle's V2G root, and the contract key decrypted with the provisioning key
    // and matched to the contract certificate: checkInstallationResponse did all of it.
    assert.is(played.check.responseCode, 'OK');
    assert.is(played.check.emaid, played.contract.emaid);
    assert.is(played.check.contractKeyScalar.length, 32);
    assert.match(lines.at(-1)!, /^✓ verified/);
    // The signer the vehicle saw is the CPS process's leaf, chained to the V2G root process's root.
    const signer = await requestSubjectReply(bus, cpsInterface.requests.ca, {});
    assert.is(Buffer.from(played.check.cpsLeaf.rawData).toString('base64'), signer.chain.certificate);
    const verdict = await validateChain([signer.chain.certificate, ...signer.chain.subCertificates].map(certificateOf), { purpose: 'cps', roots: [certificateOf(signer.v2gRoot)] });
    assert.ok(verdict.valid, verdict.reason);
    const { contracts } = await requestSubjectReply(asOem, ccpInterface.requests.list, { pcid: played.vehicle.pcid });
    assert.is(contracts.length, 1);
    assert.is(contracts[0].contractId, played.contract.contractId);
    // The CCP keeps EMAIDs in their 14-character form (without the check character).
    assert.is(contracts[0].emaid, played.contract.emaid!.slice(0, 14));
  });

  test.run();
}
