/**
 * A real nats-server that authenticates every client: credentials issued as `openpnc deploy creds`
 * issues them (a seed per participant, `admin`, `inspector`, `opcp`; the roster; the authorization
 * block with the catalogue's permissions), and connections that hold one of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNatsBus } from '../../actors/bus/nats.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import { Credential, IdentifiedBus } from '../../actors/bus/identity.ts';
import { readCredential, readRoster } from '../../actors/host/credentials.ts';
import { inboxPrefixOf } from '../../protocols/catalogue/access.ts';
import { authorizationConfig, writeCredentials } from '../../deploy/creds.ts';
import { startNatsServer, type NatsServer } from './nats.ts';

export interface SecuredNats {
  readonly server: NatsServer;
  readonly url: string;
  /** `openpnc run … --creds` takes this. */
  readonly credsDir: string;
  /** A connection holding credential `name`, signing as it. */
  connect(name: string): Promise<IdentifiedBus>;
  /** A connection authenticated as `name` that signs nothing (what a process holding only the seed could do first). */
  connectUnsigned(name: string): Promise<Bus>;
  /** Seeds of the extra users asked for (`tap`: subscribes to everything, publishes nothing: a sniffer on the wire). */
  readonly extraSeeds: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A user outside the roster, for a test's own purpose: its NATS permissions (deny all publishing with `[]`). */
export interface ExtraUser {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

export const TAP: ExtraUser = { publish: [], subscribe: ['>'] };

export async function startSecuredNats(options: { readonly extraUsers?: Readonly<Record<string, ExtraUser>> } = {}): Promise<SecuredNats> {
  const credsDir = mkdtempSync(join(tmpdir(), 'openpnc-creds-'));
  writeCredentials(credsDir);
  const roster = readRoster(credsDir);
  const extraSeeds: Record<string, string> = {};
  const extra = Object.entries(options.extraUsers ?? {}).map(([name, user]) => {
    const credential = Credential.create();
    extraSeeds[name] = credential.seed;
    const publish = user.publish.length ? `allow: ${JSON.stringify(user.publish)}` : 'deny: [">"]';
    return `    { nkey: "${credential.publicKey}", permissions: { publish: { ${publish} }, subscribe: { allow: ${JSON.stringify(user.subscribe)} }, allow_responses: true } }`;
  });
  const authorization = extra.length ? authorizationConfig(roster).replace(/\n  \]\n\}\n$/, `,\n${extra.join(',\n')}\n  ]\n}\n`) : authorizationConfig(roster);
  const server = await startNatsServer({ extraConfig: authorization });
  const buses: Bus[] = [];
  const open = async (name: string) => {
    const credential = readCredential(credsDir, roster, name);
    const bus = await connectNatsBus({ servers: server.url, name: `test ${name}`, seed: credential.seed, inboxPrefix: inboxPrefixOf(name), log: silent });
    buses.push(bus);
    return { bus, credential };
  };
  return {
    server,
    url: server.url,
    credsDir,
    extraSeeds,
    async connect(name) {
      const { bus, credential } = await open(name);
      return new IdentifiedBus(bus, credential, roster);
    },
    async connectUnsigned(name) {
      return (await open(name)).bus;
    },
    async stop() {
      await Promise.all(buses.map((bus) => bus.close().catch(() => undefined)));
      await server.stop();
      rmSync(credsDir, { recursive: true, force: true });
    },
  };
}
