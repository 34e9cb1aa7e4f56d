// Participants restarted on the same store keep their keys and their contracts' state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { LocalIdentities } from '../../actors/bus/identity.ts';
import { participantHandle } from '../../actors/host/credentials.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { playStory } from '../../actors/story/index.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { certificateOf } from '../../actors/participants/authority.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { storyParticipants } from './helpers.ts';

test('a restarted MO, CPS and V2G root CA keep their keys and contracts and go on working; the CPO outlives an RCP outage', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openpnc-restart-'));
  const store = await openEmbeddedStore(dataDir);
  const bus = createMemoryBus({ store });
  const identities = new LocalIdentities();
  const operator = identities.handle(bus, 'admin', { role: 'admin', prefixes: [] });
  const log = createLogger({ write: () => {} });
  const definitions = storyParticipants();
  const running = new Map<string, RunningParticipant>();
  const start = async (name: string) => running.set(name, await definitions.find((d) => d.name === name)!.start({ bus: participantHandle(identities, bus, name), store, log, dataDir, config: {} }));
  try {
    for (const definition of definitions) await start(definition.name);
    const first = await playStory(() => operator, operator);
    const rootBefore = (await requestSubjectReply(operator, v2gRootInterface.requests.ca, {})).certificates[0];
    const signerBefore = (await requestSubjectReply(operator, cpsInterface.requests.ca, {})).chain.certificate;

    for (const name of ['mo', 'cps', 'v2g-root']) await running.get(name)!.stop();
    for (const name of ['v2g-root', 'cps', 'mo']) await start(name);

    assert.is((await requestSubjectReply(operator, v2gRootInterface.requests.ca, {})).certificates[0], rootBefore);
    assert.is((await requestSubjectReply(operator, cpsInterface.requests.ca, {})).chain.certificate, signerBefore);
    const restored = await requestSubjectReply(operator, moInterface.requests.get, { emaid: first.contract.emaid });
    assert.is(restored.status, 'installed');
    assert.is(restored.contractId, first.contract.contractId);
    const second = await playStory(() => operator, operator);
    assert.is.not(second.contract.emaid, first.contract.emaid);
    assert.is(second.check.responseCode, 'OK');

    // With the RCP away, the CPO backend still serves the roots it knows and validates contracts.
    assert.is((await requestSubjectReply(operator, cpoInterface.requests.roots, {})).roots.length, 2);
    await running.get('rcp')!.stop();
    running.delete('rcp');
    const { roots } = await requestSubjectReply(operator, cpoInterface.requests.roots, {});
    assert.is(roots.length, 2);
    const { certificates: moCa } = await requestSubjectReply(operator, moInterface.requests.ca, {});
    const pem = [second.contract.contractCertificate!, moCa[0], moCa[1]].map((der) => certificateOf(der).toString('pem')).join('');
    assert.is((await requestSubjectReply(operator, cpoInterface.requests.validateContract, { certificate: pem })).certificateStatus, 'Accepted');
  } finally {
    for (const participant of running.values()) await participant.stop().catch(() => {});
    await bus.close();
    await store.close();
  }
});

test.run();
