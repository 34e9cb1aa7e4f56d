// The catalogue's rules, enforced by the typed bus on both adapters (memory and a real nats-server):
// every request schema is strict (an unknown key is InvalidPayload and the handler never runs), every
// request subject has a size limit (PayloadTooLarge), and a code a subject does not declare is reported.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ccpInterface } from '../../protocols/catalogue/ccp.ts';
import { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import { cpsInterface } from '../../protocols/catalogue/cps.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';
import { oemInterface } from '../../protocols/catalogue/oem.ts';
import { opcpInterface } from '../../protocols/catalogue/opcp.ts';
import { pcpInterface } from '../../protocols/catalogue/pcp.ts';
import { rcpInterface } from '../../protocols/catalogue/rcp.ts';
import { v2gRootInterface } from '../../protocols/catalogue/v2g-root.ts';
import { REQUEST_BYTES, type RequestSubject } from '../../protocols/catalogue/define.ts';
import { PncError } from '../../protocols/errors.ts';
import { connectNatsBus } from '../../actors/bus/nats.ts';
import { serveSubject, UNDECLARED_ERROR_CODE_WARNING } from '../../actors/bus/typed.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { natsServerAvailable, startNatsServer } from '../harness/nats.ts';
import { openEmbedded } from '../pools/helpers.ts';

const interfaces = [ccpInterface, cpoInterface, cpsInterface, moInterface, oemInterface, opcpInterface, pcpInterface, rcpInterface, v2gRootInterface];
const subjects: RequestSubject[] = interfaces.flatMap((i) => Object.values(i.requests));

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; issues?: { code: string }[] }> {
  try {
    await promise;
  } catch (error) {
    const e = error as PncError;
    return { code: e.code, issues: (e.data as { issues?: { code: string }[] } | undefined)?.issues };
  }
  return { code: 'resolved' };
}

function adapterSuite(name: string, open: () => Promise<{ bus: Bus; close(): Promise<void> }>) {
  const rules = suite(`${name}: catalogue rules`);
  let env: { bus: Bus; close(): Promise<void> };
  const called: string[] = [];
  rules.before(async () => {
    env = await open();
    // Each subject served by a handler that records a call: a refused request never reaches it.
    for (const spec of subjects) await serveSubject(env.bus, spec, () => void called.push(spec.subject) as never);
  });
  rules.after(async () => env?.close());

  rules('every request subject refuses an unknown key with InvalidPayload', async () => {
    for (const spec of subjects) {
      const answer = await codeOf(env.bus.request(spec.subject, { caller: { role: 'admin', prefixes: [] }, junk: 'x'.repeat(100) }));
      assert.is(answer.code, 'InvalidPayload', spec.subject);
      assert.ok(answer.issues?.some((issue) => issue.code === 'unrecognized_keys'), `${spec.subject}: ${JSON.stringify(answer.issues)}`);
    }
    assert.equal(called, []);
  });

  rules('every request subject has a declared size limit, and a larger request is PayloadTooLarge', async () => {
    for (const spec of subjects) {
      assert.ok(Object.values(REQUEST_BYTES).includes(spec.maxRequestBytes as never), `${spec.subject}: ${spec.maxRequestBytes}`);
      const answer = await codeOf(env.bus.request(spec.subject, { junk: 'x'.repeat(spec.maxRequestBytes) }));
      assert.is(answer.code, 'PayloadTooLarge', spec.subject);
    }
    assert.equal(called, []);
    // Subjects that carry EXI or signed contract data get the larger limit.
    for (const spec of [ccpInterface.requests.put, ccpInterface.requests.installation, cpoInterface.requests.installContract, cpsInterface.requests.sign]) assert.is(spec.maxRequestBytes, REQUEST_BYTES.exi, spec.subject);
    assert.is(oemInterface.requests.produceVehicle.maxRequestBytes, REQUEST_BYTES.default);
  });

  rules('an error code a subject does not declare reaches the caller unchanged and is reported once', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void (warning.name === UNDECLARED_ERROR_CODE_WARNING && warnings.push(warning.message));
    // Node prints warnings through its own 'warning' listener; this deliberate one is kept from the output
    // (test/run.ts fails a file that prints one) and caught here instead.
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', onWarning);
    try {
      const spec = { ...rcpInterface.requests.list, subject: `rules.undeclared.${name.split(' ')[0].toLowerCase()}` };
      await serveSubject(env.bus, spec, ({ rootType }) => {
        throw rootType === 'V2G' ? new PncError('RootNotFound', 'declared nowhere on this subject') : new PncError('Forbidden', 'a common code');
      });
      for (let i = 0; i < 2; i++) assert.is((await codeOf(env.bus.request(spec.subject, { rootType: 'V2G' }))).code, 'RootNotFound');
      assert.is((await codeOf(env.bus.request(spec.subject, { rootType: 'MO' }))).code, 'Forbidden');
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.equal(warnings, [`${spec.subject} answered error code RootNotFound, which its catalogue entry does not declare (declared nowhere on this subject)`]);
    } finally {
      process.off('warning', onWarning);
      for (const printer of printers) process.on('warning', printer);
    }
  });

  rules.run();
}

adapterSuite('memory bus', async () => {
  const env = await openEmbedded();
  return { bus: env.bus, close: () => env.close() };
});

if (natsServerAvailable('NATS catalogue rules')) {
  adapterSuite('NATS bus', async () => {
    const server = await startNatsServer();
    const bus = await connectNatsBus({ servers: server.url });
    return { bus, close: async () => (await bus.close(), await server.stop()) };
  });
}
