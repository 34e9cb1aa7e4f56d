// Shared by the partner tests: every participant of the story, in start order.
import type { ParticipantDefinition } from '../../actors/host/participant.ts';
import { v2gRootParticipant } from '../../actors/participants/v2g-root.ts';
import { rcpParticipant } from '../../actors/participants/rcp.ts';
import { pcpParticipant } from '../../actors/participants/pcp.ts';
import { ccpParticipant } from '../../actors/participants/ccp.ts';
import { oemParticipant } from '../../actors/participants/oem.ts';
import { moParticipant } from '../../actors/participants/mo.ts';
import { cpsParticipant } from '../../actors/participants/cps.ts';
import { cpoParticipant } from '../../actors/participants/cpo.ts';

export function storyParticipants(): ParticipantDefinition[] {
  return [v2gRootParticipant, rcpParticipant, pcpParticipant, ccpParticipant, oemParticipant, moParticipant, cpsParticipant, cpoParticipant];
}
