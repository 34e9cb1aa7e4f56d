/**
 * `openpnc start`: every registered participant in one process on the embedded defaults, playing
 * the Plug&Charge story. The story and its options belong to actors/story/command.ts; this file
 * only hands it the registry's participants.
 */
import { loadParticipants } from '../participants/index.ts';
import type { Command } from './command.ts';
import { runStart, startUsage } from '../story/command.ts';

export const startCommand: Command = {
  summary: 'run every participant in one process and play the Plug&Charge story end to end',
  usage: startUsage,
  async run(argv) {
    return runStart(argv, await loadParticipants());
  },
};
