/**
 * Who may do what on the bus: each credential's role and what it calls, listens to, enqueues and
 * consumes besides what its own interface serves and emits. `openpnc deploy creds` derives every
 * credential's NATS subject permissions from this table ({@link natsPermissionsOf}), so a participant
 * can serve only its own subjects and call only the ones declared here; the pools check the caller's
 * role and WMI/EMAID prefixes (caller.ts) on top.
 */
import type { CallerRole } from './caller.ts';
import { ccpInterface } from './ccp.ts';
import { cpoInterface } from './cpo.ts';
import { cpsInterface } from './cps.ts';
import type { ParticipantInterface } from './define.ts';
import { moInterface } from './mo.ts';
import { oemInterface } from './oem.ts';
import { opcpInterface } from './opcp.ts';
import { pcpInterface } from './pcp.ts';
import { rcpInterface } from './rcp.ts';
import { v2gRootInterface } from './v2g-root.ts';
import { seccInterface } from './secc.ts';
import { evInterface } from './ev.ts';

export interface Access {
  readonly role: CallerRole;
  /** The interface it serves and emits, when it is a participant. */
  readonly serves?: ParticipantInterface;
  /** Request subjects it calls (`*` stands for one token, as in NATS). */
  readonly calls: readonly string[];
  /** Event subjects it subscribes to. */
  readonly listens: readonly string[];
  readonly enqueues: readonly string[];
  readonly consumes: readonly string[];
  /** May act for an OAuth identity (Pnc-On-Behalf): the OPCP gateway. */
  readonly delegate?: boolean;
}

const subjects = (spec: ParticipantInterface, kind: 'requests' | 'events'): string[] => Object.values(spec[kind] ?? {}).map((s) => s.subject);
const rootEvents = subjects(rcpInterface, 'events').filter((s) => !s.endsWith('.purge.expiry'));
const ROOT_LIST = rcpInterface.requests.list.subject;
/** A pool hands its purge deadline to whichever copy hosts the purge actor (its own expiry event). */
const ownPurge = (spec: ParticipantInterface) => [spec.events!.purgeExpiry.subject];

/** Every credential `openpnc deploy creds` issues: the participants (back office, charging station, vehicle), the operator, the inspector, the OPCP gateway. */
export const accessTable = {
  'v2g-root': { role: 'root', serves: v2gRootInterface, calls: [], listens: [], enqueues: [], consumes: [] },
  rcp: { role: 'pool', serves: rcpInterface, calls: [], listens: ownPurge(rcpInterface), enqueues: [], consumes: [] },
  pcp: {
    role: 'pool', serves: pcpInterface, calls: [ROOT_LIST], listens: [...ownPurge(pcpInterface), ...rootEvents],
    enqueues: ['ccp.vehicle.deleted'], consumes: [],
  },
  ccp: {
    role: 'pool', serves: ccpInterface, calls: [ROOT_LIST, pcpInterface.requests.get.subject],
    listens: [...ownPurge(ccpInterface), ...rootEvents, pcpInterface.events.stored.subject, pcpInterface.events.purged.subject],
    enqueues: [moInterface.work.contractStored.queue], consumes: ['ccp.vehicle.deleted'],
  },
  oem: {
    role: 'oem', serves: oemInterface, calls: [ROOT_LIST, pcpInterface.requests.put.subject, pcpInterface.requests.putBatch.subject, pcpInterface.requests.delete.subject],
    listens: rootEvents, enqueues: [], consumes: [],
  },
  mo: {
    // ccp.contracts.list: a contract whose confirmation was lost is looked up at the CCP (issue 9 D1).
    role: 'mo', serves: moInterface, calls: [ROOT_LIST, pcpInterface.requests.get.subject, ccpInterface.requests.delete.subject, ccpInterface.requests.list.subject],
    listens: [...rootEvents, ccpInterface.events.deleted.subject, cpsInterface.events.rejected.subject],
    enqueues: [cpsInterface.work.signing.queue], consumes: [moInterface.work.contractStored.queue],
  },
  cps: {
    role: 'cps', serves: cpsInterface,
    calls: [ROOT_LIST, v2gRootInterface.requests.ca.subject, v2gRootInterface.requests.issueSubCa.subject, ccpInterface.requests.put.subject, pcpInterface.requests.get.subject],
    listens: rootEvents, enqueues: [], consumes: [cpsInterface.work.signing.queue],
  },
  cpo: {
    role: 'cpo', serves: cpoInterface,
    calls: [ROOT_LIST, v2gRootInterface.requests.issueSubCa.subject, ccpInterface.requests.installation.subject, pcpInterface.requests.get.subject, '*.ocsp'],
    // mo.contract.changed: remembered OCSP verdicts of C07 are dropped when a contract changes.
    listens: [...rootEvents, moInterface.events.contractChanged.subject], enqueues: [], consumes: [],
  },
  /** A charging station: its sessions' installation, authorization, leaf signing and roots at the CPO backend. */
  secc: { role: 'cpo', serves: seccInterface, calls: subjects(cpoInterface, 'requests'), listens: [], enqueues: [], consumes: [] },
  /** A vehicle of the OEM's own WMI: it has the OEM sign its provisioning CSR. */
  ev: { role: 'oem', serves: evInterface, calls: [oemInterface.requests.produceVehicle.subject, ROOT_LIST], listens: [], enqueues: [], consumes: [] },
  /** The operator: writes roots, produces vehicles, concludes and terminates contracts, plays the story. */
  admin: {
    role: 'admin',
    calls: [
      '*.ca.get', '*.ocsp', ...subjects(rcpInterface, 'requests'), ...subjects(oemInterface, 'requests'), ...subjects(moInterface, 'requests'),
      ...subjects(cpoInterface, 'requests'), v2gRootInterface.requests.revoke.subject, opcpInterface.requests.addClient.subject, ccpInterface.requests.list.subject,
      pcpInterface.requests.lookup.subject, cpsInterface.requests.ca.subject,
    ],
    listens: [cpsInterface.events.signed.subject, moInterface.events.contractChanged.subject, ...subjects(ccpInterface, 'events').filter((s) => !s.endsWith('.purge.expiry'))],
    enqueues: [], consumes: [],
  },
  /** Reads every hosted actor's events and snapshots (`inspect.>`); nothing else. */
  inspector: { role: 'inspector', calls: [], listens: ['inspect.>'], enqueues: [], consumes: [] },
  /** The OPCP gateway: Hubject's REST paths onto the pools and the CPS, each call on behalf of the token's identity. */
  opcp: {
    role: 'opcp', serves: opcpInterface, delegate: true,
    calls: [...subjects(rcpInterface, 'requests'), ...subjects(pcpInterface, 'requests'), ...subjects(ccpInterface, 'requests'), ...subjects(cpsInterface, 'requests')],
    listens: [], enqueues: [], consumes: [],
  },
} as const satisfies Record<string, Access>;

export type CredentialName = keyof typeof accessTable;
export const credentialNames = Object.keys(accessTable) as CredentialName[];

export function accessOf(name: string): Access | undefined {
  return Object.hasOwn(accessTable, name) ? (accessTable as Record<string, Access>)[name] : undefined;
}

/** The inbox prefix of a credential's connection: replies to its requests reach only it. */
export function inboxPrefixOf(name: string): string {
  return `_INBOX_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}

export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** May answer the requests it receives (reply subjects). */
  readonly allowResponses: boolean;
}

/** JetStream work: `pnc.work.<queue>` on stream PNC_WORK, dead letters on `dlq.<queue>` (PNC_DLQ). */
const STREAM_SETUP = ['$JS.API.INFO', ...['PNC_WORK', 'PNC_DLQ'].flatMap((stream) => ['INFO', 'CREATE', 'UPDATE'].map((op) => `$JS.API.STREAM.${op}.${stream}`))];
const CONSUMING = ['$JS.API.CONSUMER.INFO.PNC_WORK.>', '$JS.API.CONSUMER.CREATE.PNC_WORK.>', '$JS.API.CONSUMER.DURABLE.CREATE.PNC_WORK.>', '$JS.API.CONSUMER.MSG.NEXT.PNC_WORK.>', '$JS.ACK.PNC_WORK.>'];

/** A credential's NATS permissions, derived from its interface and its declared calls. */
export function natsPermissionsOf(name: string): NatsPermissions {
  const access = accessOf(name);
  if (!access) throw new Error(`no access declared for ${name}`);
  const served = access.serves ? subjects(access.serves, 'requests') : [];
  const emitted = access.serves ? subjects(access.serves, 'events') : [];
  const usesWork = access.enqueues.length > 0 || access.consumes.length > 0;
  const publish = [
    ...access.calls, ...emitted, `inspect.${name}.>`,
    ...access.enqueues.map((queue) => `pnc.work.${queue}`),
    ...access.consumes.map((queue) => `dlq.${queue}`),
    ...(usesWork ? STREAM_SETUP : []), ...(access.consumes.length ? CONSUMING : []),
  ];
  // A host started with `openpnc run --chaos` takes fault plans on chaos.control.<name> and answers
  // memory figures on chaos.memory.<name>; only the operator may ask.
  const chaos = access.serves ? [`chaos.control.${name}`, `chaos.memory.${name}`] : [];
  if (name === 'admin') publish.push('chaos.control.>', 'chaos.memory.>');
  const subscribe = [...served, ...chaos, ...access.listens, `${inboxPrefixOf(name)}.>`];
  return { publish: [...new Set(publish)], subscribe: [...new Set(subscribe)], allowResponses: served.length + chaos.length > 0 };
}
