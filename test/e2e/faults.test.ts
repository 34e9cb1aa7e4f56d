// Fault tests over NATS with every participant in its own process: kill -9 of the CPS or the CCP
// in the middle of processes 4–6 loses no contract and duplicates none.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../../actors/bus/bus.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { playStory } from '../../actors/story/index.ts';
import { buildInstallationRequest, checkInstallationResponse, produceVehicle, type Vehicle } from '../../actors/story/vehicle.ts';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { moInterface, type ContractSummaryJson } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { natsServerAvailable } from '../harness/nats.ts';
import { startSecuredNats, type SecuredNats } from '../harness/creds.ts';
import { PARTICIPANTS, participantsReady, startParticipantProcess, type ParticipantProcess } from './processes.ts';


if (natsServerAvailable('NATS fault suite')) {
  let nats: SecuredNats;
  /** The OPCP gateway's credential acting for the OEM OPN: how an OEM lists its contracts. */
  let asOem: Bus;
  let bus: Bus;
  const processes = new Map<string, ParticipantProcess>();

  const proc = (name: string) => processes.get(name)!;

  async function concludeContracts(count: number): Promise<Array<{ vehicle: Vehicle; contract: ContractSummaryJson }>> {
    const out = [];
    for (let i = 0; i < count; i++) {
      const vehicle = await produceVehicle(bus);
      const contract = await requestSubjectReply(bus, moInterface.requests.conclude, { pcid: vehicle.pcid });
      assert.is(contract.status, 'submitted');
      out.push({ vehicle, contract });
    }
    return out;
  }

  async function statuses(contracts: ContractSummaryJson[]): Promise<string[]> {
    return Promise.all(contracts.map(async (c) => (await requestSubjectReply(bus, moInterface.requests.get, { emaid: c.emaid })).status));
  }

  async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Exactly one contract per vehicle in the CCP, the one the MO concluded; and it installs. */
  async function assertExactlyOnce(entries: Array<{ vehicle: Vehicle; contract: ContractSummaryJson }>): Promise<void> {
    for (const { vehicle, contract } of entries) {
      const { contracts } = await requestSubjectReply(asOem, ccpInterface.requests.list, { pcid: vehicle.pcid });
      assert.is(contracts.length, 1, `one contract for ${vehicle.pcid}`);
      assert.is(contracts[0].emaid, contract.emaid!.slice(0, 14));
      assert.is(contracts[0].contractId, contract.contractId);
    }
    const { vehicle, contract } = entries[0];
    const answer = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from(await buildInstallationRequest(vehicle)).toString('base64') });
    assert.is(answer.status, 'Accepted');
    assert.is((await checkInstallationResponse(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')), vehicle)).emaid, contract.emaid);
  }

  test.before(async () => {
    nats = await startSecuredNats();
    const dataRoot = mkdtempSync(join(tmpdir(), 'openpnc-faults-'));
    for (const name of PARTICIPANTS) processes.set(name, startParticipantProcess(name, nats.url, dataRoot, ['--creds', nats.credsDir]));
    bus = await nats.connect('admin');
    asOem = (await nats.connect('opcp')).actingFor({ role: 'oem', prefixes: ['OPN'] });
    await participantsReady(bus);
    await playStory(() => bus, bus);
  });

  test.after(async () => {
    await bus?.close();
    await Promise.all([...processes.values()].map((p) => p.stop()));
    await nats?.stop();
  });

  test('kill -9 of the CPS while it works through the signing queue loses and duplicates no contract', async () => {
    await proc('cps').kill9();
    const entries = await concludeContracts(12); // queued durably in JetStream while the CPS is down
    proc('cps').restart();
    const contracts = entries.map((e) => e.contract);
    await waitUntil('the CPS to store a first contract', async () => (await statuses(contracts)).includes('installed'), 30_000, 10);
    await proc('cps').kill9(); // in the middle of the batch
    const installedAtKill = (await statuses(contracts)).filter((s) => s === 'installed').length;
    assert.ok(installedAtKill < contracts.length, `the kill came after the whole batch (${installedAtKill} installed)`);
    proc('cps').restart();
    await waitUntil('every contract installed', async () => (await statuses(contracts)).every((s) => s === 'installed'), 40_000);
    await assertExactlyOnce(entries);
  });

  test('kill -9 of the CCP during signing and during installation loses and duplicates no contract', async () => {
    await proc('ccp').kill9();
    const entries = await concludeContracts(3); // the CPS signs, its CCP puts fail and are retried
    const down = await requestSubjectReply(bus, cpoInterface.requests.installContract, { exiRequest: Buffer.from(await buildInstallationRequest(entries[0].vehicle)).toString('base64') });
    assert.is(down.status, 'Failed'); // process 6 with the CCP gone: a typed failure, not a hang
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    proc('ccp').restart();
    await participantsReady(bus, ['ccp']);
    const contracts = entries.map((e) => e.contract);
    await waitUntil('every contract installed after the CCP came back', async () => (await statuses(contracts)).every((s) => s === 'installed'), 40_000);
    await assertExactlyOnce(entries);
  });

  test.run();
}
