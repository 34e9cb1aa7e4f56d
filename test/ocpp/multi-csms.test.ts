// Two CSMS processes' edges on one bus (as two `ocpp serve` hosts over NATS would be): a
// CSMS-initiated call reaches a station wherever it is connected, through `ocpp.station.call` or
// either edge's `call`; a station connected nowhere is StationNotConnected, also after it leaves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCsms, type Csms } from '../../actors/ocpp/csms.ts';
import { createLogger } from '../../actors/host/log.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { ocppInterface } from '../../protocols/catalogue/ocpp.ts';
import { PncError } from '../../protocols/errors.ts';
import { bootRequest, startBackOffice, testStation, type BackOffice } from './helpers.ts';

let office: BackOffice;
let second: Csms;

test.before(async () => {
  office = await startBackOffice();
  second = await startCsms({ bus: office.story.bus, store: office.story.store, log: createLogger({ write: () => {} }), port: 0 });
});
test.after(async () => {
  await second?.close();
  await office?.stop();
});

const rejection = async (pending: Promise<unknown>): Promise<string> => {
  try {
    await pending;
    return 'resolved';
  } catch (error) {
    return error instanceof PncError ? error.code : String(error);
  }
};

test('a call reaches the station at the other CSMS; none reaches a station connected nowhere', async () => {
  const { password } = await second.credentials.add('CS-MULTI-1');
  const station = testStation({ url: second.url, ca: second.caCertificate, identity: 'CS-MULTI-1', password });
  const triggered: string[] = [];
  station.handle('TriggerMessage', async ({ params }) => { triggered.push((params as { requestedMessage: string }).requestedMessage); return { status: 'Accepted' }; });
  try {
    await station.connect();
    await station.call('BootNotification', bootRequest);
    assert.equal(office.csms.connected(), [], 'the first CSMS holds no connection');
    assert.equal(second.connected(), ['CS-MULTI-1']);
    // Over the bus, several times: whichever CSMS takes it, the station answers.
    for (let i = 0; i < 4; i++) {
      const { response } = await requestSubjectReply(office.story.bus, ocppInterface.requests.call, { stationId: 'CS-MULTI-1', action: 'TriggerMessage', payload: { requestedMessage: 'Heartbeat' } });
      assert.equal(response, { status: 'Accepted' });
    }
    assert.equal(await office.csms.call('CS-MULTI-1', 'TriggerMessage', { requestedMessage: 'StatusNotification' }), { status: 'Accepted' });
    assert.equal(triggered, ['Heartbeat', 'Heartbeat', 'Heartbeat', 'Heartbeat', 'StatusNotification']);
    assert.is(await rejection(office.csms.call('CS-MULTI-NOWHERE', 'TriggerMessage', { requestedMessage: 'Heartbeat' })), 'StationNotConnected');
  } finally {
    await station.close({ force: true });
  }
  // Once the connection is gone, so is its route.
  for (let attempt = 0; second.connected().length && attempt < 100; attempt++) await new Promise((resolve) => setImmediate(resolve));
  assert.is(await rejection(office.csms.call('CS-MULTI-1', 'TriggerMessage', { requestedMessage: 'Heartbeat' })), 'StationNotConnected');
});

test.run();
