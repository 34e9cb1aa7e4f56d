/**
 * How a participant process is run (issue 9: after 1,000 contracts and 60 s idle its RSS is back
 * within 10 % of its start). Node's defaults let a long-running process keep what one burst of load
 * made it take:
 * - V8 grows the young generation under load from 2 × 1 MB to 2 × 16 MB semi-spaces and keeps it
 *   committed: neither a forced full GC nor idleness shrinks it (Node 20, V8 11.3; 32 MB of a
 *   ~100 MB participant). `--max-semi-space-size` caps it.
 * - glibc malloc raises its trim and mmap thresholds after large frees (up to 64 MB) and gives each
 *   thread that allocates its own arena, so freed memory stays resident. Fixed thresholds and two
 *   arenas keep large blocks mmapped (returned on free) and the top of the heap trimmed.
 * Both must be in place when the process starts (V8 sizes its heap and glibc reads its tunables
 * once), so they are set where participant processes are launched: the `openpnc` executable's
 * first line, the rendered systemd units and `deploy netns` (deploy/render.ts), and `openpnc chaos`.
 */

/** Node options of a participant process. */
export const PARTICIPANT_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2'];

/** glibc malloc tunables of a participant process (read from the environment at its first malloc). */
export const PARTICIPANT_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  // Setting it also fixes the mmap threshold at its 128 KiB default (no dynamic raising).
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/**
 * The environment variables a participant process is started with: the malloc tunables and
 * `NODE_OPTIONS` with the participant's Node options after any the caller already has.
 */
export function participantEnvironment(inherited: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const options = [inherited.NODE_OPTIONS, ...PARTICIPANT_NODE_OPTIONS].filter((option) => option && option.trim()).join(' ');
  return { ...PARTICIPANT_MALLOC_ENV, NODE_OPTIONS: options };
}

/** What this process runs with, for its `host.ready` line: a participant started another way shows it. */
export function runtimeSettings(env: Readonly<Record<string, string | undefined>> = process.env, execArgv: readonly string[] = process.execArgv): Record<string, string | null> {
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  const semiSpace = flags.filter((flag) => flag.startsWith('--max-semi-space-size=')).at(-1);
  return {
    maxSemiSpaceMb: semiSpace ? semiSpace.split('=')[1] : null,
    ...Object.fromEntries(Object.keys(PARTICIPANT_MALLOC_ENV).map((name) => [name, env[name] ?? null])),
  };
}
