/**
 * `openpnc start`: the main story (actors/story/index.ts) on the embedded defaults, with
 * `--serve` to keep every participant and the OPCP gateway running afterwards and `--trace FILE`
 * for the timeline as JSON lines (EXI in hex).
 */
import { CliError, parseFlags, wantsHelp, type Command } from '../cli/command.ts';
import { createLogger } from '../host/log.ts';
import type { ParticipantDefinition } from '../host/participant.ts';
import { DEFAULT_OPCP_PORT, startOpcpGateway } from '../opcp/gateway.ts';
import { DEFAULT_OCPP_PORT } from '../ocpp/listen.ts';
import { PncError } from '../../protocols/errors.ts';
import { runStory } from './index.ts';
import { DEFAULT_INSPECTOR_PORT, startInspector, type RunningInspector } from '../inspect/server.ts';
import type { Bus } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';

export const startUsage = `usage: openpnc start [options]

Runs the whole Plug&Charge back office in this process (V2G root CA, OEM, RCP, PCP, MO, CPS, CCP,
CPO backend) on the in-process bus and the embedded store, plays the six VDE processes and prints
one line per step, ending with the vehicle's verification of its contract.

options:
  --serve            keep every participant, the OPCP gateway and the OCPP CSMS running until interrupted
  --opcp-port N      port of the OPCP gateway with --serve (default ${DEFAULT_OPCP_PORT}; 0 = any free port)
  --inspect-port N   port of the statechart inspector with --serve (default ${DEFAULT_INSPECTOR_PORT}; 0 = any free port)
  --ocpp-port N      port of the OCPP 2.0.1 CSMS with --serve (default ${DEFAULT_OCPP_PORT}; 0 = any free port)
  --trace FILE       write the timeline as JSON lines, every EXI message in hex
  --data DIR         keep the embedded store in DIR (default: a fresh temporary directory)
  -h, --help         show this help`;

/** A `--<name> N` port flag: 0–65535, and only together with --serve. */
function portFlag(values: { serve?: boolean } & Record<string, string | boolean | undefined>, name: string, fallback: number): number {
  const given = values[name];
  if (given === undefined) return fallback;
  const port = Number(given);
  if (typeof given !== 'string' || !/^\d+$/.test(given) || port > 65_535) throw new CliError(`--${name} must be a port number, got '${given}'`);
  if (!values.serve) throw new CliError(`--${name} needs --serve`);
  return port;
}

/** Runs `openpnc start` with the given participants (the registry's list). */
export async function runStart(argv: string[], participants: readonly ParticipantDefinition[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(startUsage);
    return 0;
  }
  const { values, positionals } = parseFlags(argv, {
    serve: { type: 'boolean' },
    'opcp-port': { type: 'string' },
    'inspect-port': { type: 'string' },
    'ocpp-port': { type: 'string' },
    trace: { type: 'string' },
    data: { type: 'string' },
  });
  if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc start --help)`);
  const opcpPort = portFlag(values, 'opcp-port', DEFAULT_OPCP_PORT);
  const inspectPort = portFlag(values, 'inspect-port', DEFAULT_INSPECTOR_PORT);
  const ocppPort = portFlag(values, 'ocpp-port', DEFAULT_OCPP_PORT);
  let story;
  let inspector: RunningInspector | undefined;
  // With --serve the inspector listens from before the first participant starts, so it sees the whole story.
  const beforeStart = values.serve ? async (bus: Bus, store: Store) => { inspector = await startInspector({ bus, store, port: inspectPort }); } : undefined;
  try {
    story = await runStory({ participants, ...(values.trace ? { traceFile: values.trace } : {}), ...(values.data ? { dataDir: values.data } : {}), ...(beforeStart ? { beforeStart } : {}) });
  } catch (error) {
    await inspector?.close();
    if (error instanceof PncError) throw new CliError(`story failed: ${error.code}: ${error.message}`, 1);
    throw error;
  }
  if (!values.serve) {
    await story.stop();
    return 0;
  }
  const gateway = await startOpcpGateway({ bus: story.identities.gateway(story.bus), store: story.store, log: createLogger({ fields: { participant: 'opcp' } }), port: opcpPort });
  // Loaded only here: ocpp-rpc compiles its OCA schemas on import, which `start` without --serve does not need.
  const { startCsms } = await import('../ocpp/csms.ts');
  const csms = await startCsms({ bus: story.bus, store: story.store, log: createLogger({ fields: { participant: 'ocpp' } }), port: ocppPort });
  console.log(`serving: every participant on the in-process bus, OPCP gateway at ${gateway.url}, OCPP CSMS at ${csms.url}/<stationId>, inspector at ${inspector!.url} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await csms.close();
  await gateway.close();
  await inspector!.close();
  await story.stop();
  return 0;
}
