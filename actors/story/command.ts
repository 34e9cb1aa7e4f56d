/**
 * `openpnc start`: the main story (actors/story/index.ts) on the embedded defaults, with
 * `--serve` to keep every participant and the OPCP gateway running afterwards and `--trace FILE`
 * for the timeline as JSON lines (EXI in hex).
 */
import { CliError, parseFlags, wantsHelp, type Command } from '../cli/command.ts';
import { createLogger } from '../host/log.ts';
import type { ParticipantDefinition } from '../host/participant.ts';
import { DEFAULT_OPCP_PORT, startOpcpGateway } from '../opcp/gateway.ts';
import { PncError } from '../../protocols/errors.ts';
import { runStory } from './index.ts';

export const startUsage = `usage: openpnc start [options]

Runs the whole Plug&Charge back office in this process (V2G root CA, OEM, RCP, PCP, MO, CPS, CCP,
CPO backend) on the in-process bus and the embedded store, plays the six VDE processes and prints
one line per step, ending with the vehicle's verification of its contract.

options:
  --serve            keep every participant and the OPCP gateway running until interrupted
  --opcp-port N      port of the OPCP gateway with --serve (default ${DEFAULT_OPCP_PORT}; 0 = any free port)
  --trace FILE       write the timeline as JSON lines, every EXI message in hex
  --data DIR         keep the embedded store in DIR (default: a fresh temporary directory)
  -h, --help         show this help`;

/** Runs `openpnc start` with the given participants (the registry's list). */
export async function runStart(argv: string[], participants: readonly ParticipantDefinition[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(startUsage);
    return 0;
  }
  const { values, positionals } = parseFlags(argv, {
    serve: { type: 'boolean' },
    'opcp-port': { type: 'string' },
    trace: { type: 'string' },
    data: { type: 'string' },
  });
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc start --help)`);
  const opcpPort = values['opcp-port'] === undefined ? DEFAULT_OPCP_PORT : Number(values['opcp-port']);
  if (!Number.isInteger(opcpPort) || opcpPort < 0 || opcpPort > 65_535) throw new CliError(`--opcp-port must be a port number, got '${values['opcp-port']}'`);
  if (values['opcp-port'] !== undefined && !values.serve) throw new CliError('--opcp-port needs --serve');
  let story;
  try {
    story = await runStory({ participants, ...(values.trace ? { traceFile: values.trace } : {}), ...(values.data ? { dataDir: values.data } : {}) });
  } catch (error) {
    if (error instanceof PncError) throw new CliError(`story failed: ${error.code}: ${error.message}`, 1);
    throw error;
  }
  if (!values.serve) {
    await story.stop();
    return 0;
  }
  const gateway = await startOpcpGateway({ bus: story.identities.gateway(story.bus), store: story.store, log: createLogger({ fields: { participant: 'opcp' } }), port: opcpPort });
  console.log(`serving: every participant on the in-process bus, OPCP gateway at ${gateway.url} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  await story.stop();
  return 0;
}
