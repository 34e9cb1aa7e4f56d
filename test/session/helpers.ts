// Shared by the session tests: the back office of the story (every participant on the in-process
// bus, a vehicle with a concluded contract in the CCP), and an SECC station and an EV on it.
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { storyParticipants } from '../partners/helpers.ts';
import { createSeccStation, type SeccStation, type SeccStationOptions } from '../../actors/participants/secc/index.ts';
import { busCpoBackend } from '../../actors/participants/secc/backend.ts';
import { createEv, type Ev, type EvOptions } from '../../actors/participants/ev/index.ts';

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
