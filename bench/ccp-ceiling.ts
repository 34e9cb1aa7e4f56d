// The ceiling of bench:pools' CCP row on this rig: a responder that does only what no CCP installation
// can skip, forked by bench/pools.ts into its own process as a CCP worker is. On the same NATS server,
// bus client and identity layer as the CCP, it verifies each request's bus identity (Ed25519 over the
// payload's SHA-256, actors/bus/identity.ts) and one P-256 ECDSA signature (the request's XML signature
// [V2G2-771]), then answers a reply the CCP gave, serialised per request as the CCP's is. No EXI, no
// store, no schema, no log: what is left of a CCP's cost once its own work costs nothing.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { connectNatsBus } from '../actors/bus/nats.ts';
import { Credential, IdentifiedBus, Roster, callerOf } from '../actors/bus/identity.ts';

/** What bench/pools.ts sends: where to serve, who may call, and the reply to give. */
export interface CeilingSetup {
  readonly kind: 'start';
  readonly natsUrl: string;
  readonly seed: string;
  readonly reply: unknown;
}
export type FromCeiling = { kind: 'ready' } | { kind: 'error'; message: string };

const send = (message: FromCeiling) => process.send!(message);

process.once('message', async (setup: CeilingSetup) => {
  try {
    const credential = new Credential(setup.seed);
    // The caller is the bench's credential, as a CPO: the roster is what a CCP worker checks callers against.
    const roster = new Roster({ version: 1, identities: { [credential.publicKey]: { name: 'cpo', caller: { role: 'cpo', prefixes: [] }, delegate: false } } });
    const bus = new IdentifiedBus(await connectNatsBus({ servers: setup.natsUrl, name: 'bench-ccp-ceiling', seed: setup.seed }), credential, roster);
    // A signature over a SignedInfo-sized text, checked once per request (its cost does not depend on the key).
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signedInfo = randomBytes(200);
    const signature = sign('sha256', signedInfo, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    await bus.serve('bench.ceiling', (_request, delivery) => {
      callerOf(delivery);
      if (!verify('sha256', signedInfo, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('the P-256 signature does not verify');
      return setup.reply;
    }, { queue: 'bench' });
    send({ kind: 'ready' });
  } catch (error) {
    send({ kind: 'error', message: (error as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
