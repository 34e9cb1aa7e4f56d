/**
 * Each hosted participant's identity on the bus. Over NATS with `--creds DIR` (from `openpnc deploy
 * creds`) each participant connects with its own nkey (`DIR/<name>.nk`), which the server checks and
 * whose permissions come from the catalogue (protocols/catalogue/access.ts), and signs what it sends
 * with it; `DIR/roster.json` tells receivers whose key is whose. On the in-process bus the host makes a
 * key per participant itself ({@link LocalIdentities}).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessOf } from '../../protocols/catalogue/access.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';
import { PncError } from '../../protocols/errors.ts';
import type { Bus } from '../bus/bus.ts';
import { Credential, IdentifiedBus, Roster, type LocalIdentities } from '../bus/identity.ts';
import { connectNatsBus } from '../bus/nats.ts';
import type { BusLog } from '../bus/log.ts';
import { inboxPrefixOf } from '../../protocols/catalogue/access.ts';

/** Participants that hold a CA key: they refuse to start on NATS without credentials unless `--insecure`. */
export const CA_PARTICIPANTS: ReadonlySet<string> = new Set(['v2g-root', 'cpo', 'mo', 'cps', 'oem']);

export const ROSTER_FILE = 'roster.json';
export const credentialFile = (name: string): string => `${name}.nk`;

/** The identity a participant acts as: its role (access.ts) and its WMI (OEM) or EMAID prefix (MO) from its settings. */
export function participantCaller(name: string, config: Readonly<Record<string, string>> = {}): Caller {
  const access = accessOf(name);
  if (!access) throw new PncError('UnknownParticipant', `no access declared for ${name}`);
  const prefixes = name === 'oem' || name === 'ev' ? [(config.wmi ?? 'OPN').toUpperCase()] : name === 'mo' ? [(config.emaidPrefix ?? 'DEOPN').toUpperCase()] : [];
  return { role: access.role, prefixes };
}

/** On the in-process bus: the handle the host gives participant `name` (its own key, its role and prefixes). */
export function participantHandle(identities: LocalIdentities, bus: Bus, name: string, config?: Readonly<Record<string, string>>): IdentifiedBus {
  return identities.handle(bus, name, participantCaller(name, config));
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new PncError('CredentialInvalid', `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The public roster of a credentials directory. @throws PncError `CredentialInvalid` */
export function readRoster(dir: string): Roster {
  let json: unknown;
  try {
    json = JSON.parse(readText(join(dir, ROSTER_FILE), 'the roster'));
  } catch (error) {
    if (error instanceof PncError) throw error;
    throw new PncError('CredentialInvalid', `${join(dir, ROSTER_FILE)} is not JSON`);
  }
  return Roster.parse(json);
}

/**
 * The credential `name` holds in `dir`, checked against the roster: it must be there under that name,
 * and a participant's settings must not claim other prefixes than the ones it was issued for.
 * @throws PncError `CredentialInvalid`
 */
export function readCredential(dir: string, roster: Roster, name: string, config?: Readonly<Record<string, string>>): Credential {
  const credential = new Credential(readText(join(dir, credentialFile(name)), `the credential of ${name}`));
  const entry = roster.entryOf(credential.publicKey);
  if (!entry || entry.name !== name) throw new PncError('CredentialInvalid', `${credentialFile(name)} is not ${name}'s key in ${ROSTER_FILE} (issue again with openpnc deploy creds)`);
  if (config) {
    const wanted = participantCaller(name, config).prefixes.join(',');
    if (wanted !== entry.caller.prefixes.join(',')) {
      throw new PncError('CredentialInvalid', `${name}'s credential is issued for prefixes [${entry.caller.prefixes.join(', ')}] but its settings say [${wanted}]`);
    }
  }
  return credential;
}

/**
 * A NATS connection for a command-line client: with `credsDir` authenticated and signing as credential
 * `name` (`admin` for the operator's commands), without it a plain unauthenticated connection.
 * @throws PncError `CredentialInvalid`, `BusUnavailable`
 */
export async function connectAs(options: { servers: readonly string[]; credsDir?: string; name: string; connectionName: string; log?: BusLog }): Promise<Bus> {
  if (!options.credsDir) return connectNatsBus({ servers: options.servers, name: options.connectionName, ...(options.log ? { log: options.log } : {}) });
  const roster = readRoster(options.credsDir);
  const credential = readCredential(options.credsDir, roster, options.name);
  const connection = await connectNatsBus({
    servers: options.servers, name: options.connectionName, seed: credential.seed, inboxPrefix: inboxPrefixOf(options.name), ...(options.log ? { log: options.log } : {}),
  });
  return new IdentifiedBus(connection, credential, roster);
}
