/**
 * The participants registry: one line per participant, in start order (a participant's
 * dependencies come before it). Each module is loaded only when hosted or listed.
 * `openpnc run <name…>` hosts the named ones, `openpnc start` all of them.
 */
import type { ParticipantDefinition } from '../host/participant.ts';

export const participantLoaders: Readonly<Record<string, () => Promise<ParticipantDefinition>>> = {
  'v2g-root': async () => (await import('./v2g-root.ts')).v2gRootParticipant,
  rcp: async () => (await import('./rcp.ts')).rcpParticipant,
  pcp: async () => (await import('./pcp.ts')).pcpParticipant,
  ccp: async () => (await import('./ccp.ts')).ccpParticipant,
  oem: async () => (await import('./oem.ts')).oemParticipant,
  mo: async () => (await import('./mo.ts')).moParticipant,
  cps: async () => (await import('./cps.ts')).cpsParticipant,
  cpo: async () => (await import('./cpo.ts')).cpoParticipant,
  secc: async () => (await import('./secc/index.ts')).seccParticipant,
  ev: async () => (await import('./ev/index.ts')).evParticipant,
};

/** Registered names, in start order. */
export const participantNames: readonly string[] = Object.keys(participantLoaders);

/** Participants that run on chargers and in vehicles, not on a back-office host: no deployment needs them. */
export const fieldParticipantNames: readonly string[] = ['secc', 'ev'];
/** The back office: every other participant, each hosted somewhere in a deployment. */
export const backOfficeParticipantNames: readonly string[] = participantNames.filter((name) => !fieldParticipantNames.includes(name));

/**
 * Loads the named participants (all when `names` is omitted), in registry order.
 * Throws a PncError `UnknownParticipant` naming the known ones.
 */
export async function loadParticipants(names: readonly string[] = participantNames): Promise<ParticipantDefinition[]> {
  const unknown = names.filter((name) => !Object.hasOwn(participantLoaders, name));
  if (unknown.length) {
    const { PncError } = await import('../../protocols/errors.ts');
    throw new PncError('UnknownParticipant', `unknown participant '${unknown[0]}' (known: ${participantNames.join(', ')})`);
  }
  const loaded: ParticipantDefinition[] = [];
  // One at a time: module evaluation order stays the registry's (the PKI modules' polyfill comes first).
  for (const name of participantNames.filter((n) => names.includes(n))) loaded.push(await participantLoaders[name]());
  return loaded;
}
