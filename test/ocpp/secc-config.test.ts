// The SECC participant chooses its CPO-backend port by configuration: with `ocpp.url` it is a
// station of that CSMS (connects, boots under its identity, answers the CSMS's calls); without it,
// it speaks to the CPO on the bus and the CSMS never sees it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../actors/host/log.ts';
import { seccParticipant } from '../../actors/participants/secc/index.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { startBackOffice, until, type BackOffice } from './helpers.ts';
import { tempDir } from '../harness/temp-dir.ts';

let office: BackOffice;
const running: RunningParticipant[] = [];

test.before(async () => {
  office = await startBackOffice();
});
test.after(async () => {
  for (const participant of running) await participant.stop();
  await office?.stop();
});

const start = async (name: string, config: Record<string, string>) => {
  const dataDir = tempDir('openpnc-secc-config-');
  const participant = await seccParticipant.start({ bus: office.story.bus, store: office.story.store, log: createLogger({ write: () => {} }), dataDir, config: { name, ...config } });
  running.push(participant);
  return dataDir;
};

test('--set ocpp.url=…: the SECC participant is a station of that CSMS; without it, it stays on the bus', async () => {
  const { password } = await office.csms.credentials.add('CS-SECC-CONFIG');
  const dataDir = tempDir('openpnc-secc-ca-');
  const caFile = join(dataDir, 'csms-root.pem');
  writeFileSync(caFile, office.csms.caCertificate);
  await start('secc-ocpp', { 'ocpp.url': office.csms.url, 'ocpp.stationId': 'CS-SECC-CONFIG', 'ocpp.password': password, 'ocpp.caFile': caFile });
  await until(() => office.csms.connected().includes('CS-SECC-CONFIG'), 30_000, 'the SECC to connect to the CSMS');
  await until(async () => (await requestSubjectReply(office.story.bus, cpoInterface.requests.station, { stationId: 'CS-SECC-CONFIG' })).accepted, 30_000, 'its BootNotification');
  // M05 reaches it as a station: the CSMS installs the roots over OCPP.
  assert.ok((await office.csms.installRoots('CS-SECC-CONFIG')).every((status) => status === 'Accepted'));
  await start('secc-bus', {});
  assert.equal(office.csms.connected(), ['CS-SECC-CONFIG'], 'the bus SECC never connects');
});

test.run();
