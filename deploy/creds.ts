/**
 * `openpnc deploy creds`: one NATS user nkey per credential in protocols/catalogue/access.ts (the eight
 * participants, `admin`, `inspector`, `opcp`), the public roster binding each key to its role and
 * prefixes, and the nats-server `authorization` block whose per-user permissions come from the
 * catalogue. Seeds never leave the directory they are written to (mode 600); copy each host only the
 * seeds of what it runs, and the roster and the authorization file to every host.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentialNames, natsPermissionsOf } from '../protocols/catalogue/access.ts';
import { Credential, Roster } from '../actors/bus/identity.ts';
import { ROSTER_FILE, credentialFile, participantCaller, readRoster } from '../actors/host/credentials.ts';

/** The nats-server include file with every user and its permissions. */
export const AUTHORIZATION_FILE = 'nats-authorization.conf';

export interface CredentialOptions {
  /** The OEM's WMI (default OPN) and the MO's EMAID prefix (default DEOPN), as the participants' settings say. */
  readonly config?: Readonly<Record<string, string>>;
  /** Issue new keys for these names only and keep the others (rotation); all when absent or on a fresh directory. */
  readonly rotate?: readonly string[];
}

const quoted = (value: string): string => JSON.stringify(value);

/** The `authorization { users = [...] }` block for a roster: each key with its catalogue permissions. */
export function authorizationConfig(roster: Roster): string {
  const users = Object.entries(roster.toJSON().identities).map(([publicKey, entry]) => {
    const permissions = natsPermissionsOf(entry.name);
    return [
      `    # ${entry.name} (${entry.caller.role}${entry.caller.prefixes.length ? ` ${entry.caller.prefixes.join(',')}` : ''})`,
      `    { nkey: ${quoted(publicKey)}, permissions: {`,
      `        publish: { allow: [${permissions.publish.map(quoted).join(', ')}] }`,
      `        subscribe: { allow: [${permissions.subscribe.map(quoted).join(', ')}] }`,
      ...(permissions.allowResponses ? ['        allow_responses: true'] : []),
      '    } }',
    ].join('\n');
  });
  return ['# openpnc deploy creds: every NATS user and what it may publish and subscribe (protocols/catalogue/access.ts)', 'authorization {', '  users = [', users.join(',\n'), '  ]', '}', ''].join('\n');
}

/**
 * Writes (or rotates) a credentials directory: `<name>.nk` seeds (600), `roster.json`, and
 * `nats-authorization.conf`. Returns the paths written.
 */
export function writeCredentials(dir: string, options: CredentialOptions = {}): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = !existsSync(join(dir, ROSTER_FILE));
  const old = fresh ? undefined : readRoster(dir);
  const roster = new Roster();
  const written: string[] = [];
  for (const name of credentialNames) {
    const path = join(dir, credentialFile(name));
    const keep = old && options.rotate && !options.rotate.includes(name) && existsSync(path);
    const credential = keep ? new Credential(readFileSync(path, 'utf8')) : Credential.create();
    if (!keep) {
      writeFileSync(path, `${credential.seed}\n`, { mode: 0o600 });
      written.push(path);
    }
    const caller = name === 'admin' || name === 'inspector' || name === 'opcp' ? { role: name, prefixes: [] } : participantCaller(name, options.config);
    roster.add(credential.publicKey, { name, caller, delegate: name === 'opcp' });
  }
  writeFileSync(join(dir, ROSTER_FILE), `${JSON.stringify(roster.toJSON(), null, 2)}\n`);
  writeFileSync(join(dir, AUTHORIZATION_FILE), authorizationConfig(roster));
  return [...written, join(dir, ROSTER_FILE), join(dir, AUTHORIZATION_FILE)];
}
