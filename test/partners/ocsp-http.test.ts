// The MO's OCSP responder on loopback HTTP, asked by OpenSSL: good while the contract runs,
// revoked after termination.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { createLogger } from '../../actors/host/log.ts';
import type { RunningParticipant } from '../../actors/host/participant.ts';
import { certificateOf } from '../../actors/participants/authority.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import { playStory } from '../../actors/story/index.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { freePort } from '../harness/nats.ts';
import { storyParticipants } from './helpers.ts';

test('openssl ocsp against the MO responder over HTTP: good, then revoked after termination', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openpnc-ocsp-http-'));
  const store = await openEmbeddedStore(dir);
  const bus = createMemoryBus({ store });
  const port = await freePort();
  const running: RunningParticipant[] = [];
  try {
    for (const definition of storyParticipants()) {
      running.push(await definition.start({ bus, store, log: createLogger({ write: () => {} }), dataDir: dir, config: definition.name === 'mo' ? { ocspHttpPort: String(port) } : {} }));
    }
    const { contract } = await playStory(() => bus, bus);
    const { certificates: [sub2] } = await requestSubjectReply(bus, moInterface.requests.ca, {});
    writeFileSync(join(dir, 'contract.pem'), certificateOf(contract.contractCertificate!).toString('pem'));
    writeFileSync(join(dir, 'issuer.pem'), certificateOf(sub2).toString('pem'));
    // Asynchronously: the responder answers from this very process.
    const ask = async () => (await promisify(execFile)('openssl', ['ocsp', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'contract.pem'), '-url', `http://127.0.0.1:${port}/mo`, '-VAfile', join(dir, 'issuer.pem')], { timeout: 10_000 })).stdout;
    assert.match(await ask(), /contract\.pem: good/);
    await requestSubjectReply(bus, moInterface.requests.terminate, { emaid: contract.emaid! });
    assert.match(await ask(), /contract\.pem: revoked/);
  } finally {
    for (const participant of running.reverse()) await participant.stop();
    await bus.close();
    await store.close();
  }
});

test.run();
