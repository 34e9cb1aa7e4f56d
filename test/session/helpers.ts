// Shared by the session tests: the back office of the story (every participant on the in-process
// bus, a vehicle with a concluded contract in the CCP), and an SECC station and an EV on it.
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { storyParticipants } from '../partners/helpers.ts';
import { createSeccStation, type SeccStation, type SeccStationOptions } from '../../actors/participants/secc/index.ts';
import { busCpoBackend } from '../../actors/participants/secc/backend.ts';
import { createEv, type Ev, type EvOptions } from '../../actors/participants/ev/index.ts';
import { X509Certificate } from '@peculiar/x509';
import { systemClock } from '../../actors/transport/timers.ts';

export async function backOffice(): Promise<StoryResult> {
  return runStory({ participants: storyParticipants(), print: () => {} });
}

/** A station with its SECC leaf from the CPO backend and the V2G/MO roots installed. */
export async function station(story: StoryResult, options: SeccStationOptions = {}): Promise<SeccStation> {
  const secc = createSeccStation(story.bus, story.store, options);
  await secc.security.ensureLeaf(busCpoBackend(story.bus), { commonName: 'SECC-TEST', organization: 'Open Plug&Charge CPO' });
  return secc;
}

export function vehicleOf(story: StoryResult, options: EvOptions = {}): Ev {
  return createEv(story.store, story.vehicle, { battery: { soc: 79, capacityWh: 40_000, ...options.battery }, ...options });
}

/**
 * The CertificateUpdate rig: an admin handle, a station, and the story's vehicle whose clock stands
 * `daysLeft` days before its contract expires (the story installed the contract at the SECC).
 */
export async function nearExpiry(story: StoryResult, daysLeft: number, stationOptions: SeccStationOptions = {}) {
  const admin = story.identities.handle(story.bus, 'admin', { role: 'admin', prefixes: [] });
  const secc = await station(story, stationOptions);
  const notAfter = new X509Certificate(Buffer.from(story.contract.contractCertificate!, 'base64')).notAfter.getTime();
  const offset = notAfter - daysLeft * 86_400_000 - Date.now();
  return { admin, secc, ev: vehicleOf(story, { clock: { ...systemClock, now: () => Date.now() + offset } }) };
}
