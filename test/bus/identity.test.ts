// The identity layer (actors/bus/identity.ts) on both adapters: a signed request reaches its handler
// with the roster's caller; the signature covers the payload's bytes as they travelled, so a changed
// payload (even the same JSON value spelled with other bytes), another subject, a stale time or an
// unknown key is `Unauthenticated`; a hand-made delivery (no received bytes) is checked as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, headers as natsHeaders } from 'nats';
import { createMemoryBus, connectNatsBus, type Bus, type Delivery } from '../../actors/bus/index.ts';
import { Credential, IdentifiedBus, Roster, SIGNATURE_WINDOW_MS, identityHeaders } from '../../actors/bus/identity.ts';
import { ERROR_HEADER } from '../../actors/bus/nats.ts';
import { EncodedPayload } from '../../actors/bus/wire.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { PncError } from '../../protocols/errors.ts';
import { natsServerAvailable, startNatsServer } from '../harness/nats.ts';

const CPO: Caller = { role: 'cpo', prefixes: ['DEOPN'] };
const SUBJECT = 'identity.test.echo';
const PAYLOAD = { certificateInstallationReq: 'gAE=', note: 'é €', n: 1.5 };
const TEXT = JSON.stringify(PAYLOAD);

/** A bus that sends `text` with `headers` exactly as given, and answers the reply or the PncError code. */
type RawSender = (subject: string, text: string, headers: Record<string, string>) => Promise<unknown>;

interface Engine { inner: Bus; raw: RawSender; close(): Promise<void> }

async function withServer(engine: Engine, run: (sender: IdentifiedBus, credential: Credential, served: Delivery[]) => Promise<void>): Promise<void> {
  const credential = Credential.create();
  const server = Credential.create();
  const roster = new Roster({ version: 1, identities: {
    [credential.publicKey]: { name: 'cpo', caller: CPO, delegate: false },
    [server.publicKey]: { name: 'ccp', caller: { role: 'pool', prefixes: [] }, delegate: false },
  } });
  const served: Delivery[] = [];
  const receiver = new IdentifiedBus(engine.inner, server, roster);
  const subscription = await receiver.serve(SUBJECT, (payload, delivery) => {
    served.push(delivery);
    return { payload, caller: delivery.caller ?? null };
  });
  try {
    await run(new IdentifiedBus(engine.inner, credential, roster), credential, served);
  } finally {
    await subscription.unsubscribe();
    await engine.close();
  }
}

async function memoryEngine(): Promise<Engine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pnc-identity-'));
  const store = await openEmbeddedStore(dataDir);
  const inner = createMemoryBus({ store });
  // The in-process bus carries a payload's JSON text: an already encoded text goes as it is.
  return {
    inner,
    raw: (subject, text, headers) => inner.request(subject, new EncodedPayload(text), { headers }).catch((error: PncError) => error.code),
    close: async () => {
      await inner.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function cases(name: string, open: () => Promise<Engine>): void {
  test(`${name}: a signed request arrives with its caller and its payload unchanged`, async () => {
    await withServer(await open(), async (sender, _credential, served) => {
      assert.equal(await sender.request(SUBJECT, PAYLOAD), { payload: PAYLOAD, caller: CPO });
      assert.equal(served[0].payload, PAYLOAD);
    });
  });

  test(`${name}: the signature covers the bytes sent: a changed payload, a respelled one, another subject, a stale time are refused`, async () => {
    const engine = await open();
    await withServer(engine, async (_sender, credential, served) => {
      const signed = identityHeaders(credential, SUBJECT, PAYLOAD);
      // The positive control: the very text that was signed, sent by hand, verifies.
      assert.equal(await engine.raw(SUBJECT, TEXT, signed), { payload: PAYLOAD, caller: CPO });
      assert.is(await engine.raw(SUBJECT, JSON.stringify({ ...PAYLOAD, n: 2 }), signed), 'Unauthenticated');
      // The same JSON value in other bytes: what is signed is what travelled, not a re-serialisation.
      assert.is(await engine.raw(SUBJECT, JSON.stringify(PAYLOAD, null, 1), signed), 'Unauthenticated');
      assert.is(await engine.raw(`${SUBJECT}.other`, TEXT, signed), 'NoResponders');
      await engine.inner.serve(`${SUBJECT}2`, () => 'served');
      const receiverOf2 = identityHeaders(credential, `${SUBJECT}2`, PAYLOAD);
      assert.is(await engine.raw(SUBJECT, TEXT, receiverOf2), 'Unauthenticated');
      const stale = identityHeaders(credential, SUBJECT, PAYLOAD, undefined, Date.now() - SIGNATURE_WINDOW_MS - 60_000);
      assert.is(await engine.raw(SUBJECT, TEXT, stale), 'Unauthenticated');
      const stranger = identityHeaders(Credential.create(), SUBJECT, PAYLOAD);
      assert.is(await engine.raw(SUBJECT, TEXT, stranger), 'Unauthenticated');
      assert.is(served.length, 1, 'only the untouched message reached the handler');
    });
  });
}

test('a hand-made delivery (no received bytes) is checked against the payload serialised again', () => {
  const credential = Credential.create();
  const roster = new Roster({ version: 1, identities: { [credential.publicKey]: { name: 'cpo', caller: CPO, delegate: false } } });
  const headers = identityHeaders(credential, SUBJECT, PAYLOAD);
  assert.equal(roster.callerOf(SUBJECT, PAYLOAD, headers), CPO);
  assert.equal(roster.callerOf(SUBJECT, { ...PAYLOAD }, headers, TEXT), CPO);
  assert.throws(() => roster.callerOf(SUBJECT, { ...PAYLOAD, n: 2 }, headers), (error: PncError) => error.code === 'Unauthenticated');
  assert.throws(() => roster.callerOf(SUBJECT, PAYLOAD, headers, new TextEncoder().encode(`${TEXT} `)), (error: PncError) => error.code === 'Unauthenticated');
});

cases('in-process bus', memoryEngine);

if (natsServerAvailable('identity over NATS')) {
  cases('NATS', async () => {
    const server = await startNatsServer();
    const inner = await connectNatsBus({ servers: server.url, name: 'identity' });
    const raw = await connect({ servers: server.url });
    return {
      inner,
      // A plain NATS client: the bytes and headers go out exactly as given.
      raw: async (subject, text, headers) => {
        const sent = natsHeaders();
        for (const [key, value] of Object.entries(headers)) sent.set(key, value);
        try {
          const reply = await raw.request(subject, new TextEncoder().encode(text), { headers: sent, timeout: 5000 });
          const body = JSON.parse(new TextDecoder().decode(reply.data));
          return reply.headers?.get(ERROR_HEADER) ? body.code : body;
        } catch (error) {
          return /no responders|503/i.test((error as Error).message) ? 'NoResponders' : (error as Error).message;
        }
      },
      close: async () => {
        await raw.close();
        await inner.close();
        await server.stop();
      },
    };
  });
}

test.run();
