// `openpnc chaos --scenario FILE`: fault injection with an invariant report.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError, parseFlags, type Command } from './command.ts';
import { PncError } from '../../protocols/errors.ts';

const usage = `usage: openpnc chaos --scenario FILE [--json]

Starts the scenario's deployment (one nats-server or a 3-node JetStream cluster, and one
'openpnc run --chaos' process per group of participants; or, with "netns", a topology as
'openpnc deploy netns up' runs it: root, the load from the client namespace), plays the story
once, then concludes the scenario's contracts while its faults happen: kill -9 and restart of
participant processes, kill and restart of NATS nodes, hosts cut off from the others and healed
(netns), dropped / delayed / duplicated / reordered bus messages on chosen subjects, a skewed
clock. After a quiet period it prints the invariant report (contracts, charging sessions, every
certificate the CAs issued against the stores) and exits 0 only when every invariant holds (1 when
one is broken, 2 for a bad scenario).

Shipped scenarios: deploy/chaos/*.json (README there).

options:
  --scenario FILE    the scenario (JSON)
  --json             print the report as JSON instead of lines
  -h, --help         show this help`;

export const chaosCommand: Command = {
  summary: 'inject faults into a deployment under load and check the invariants',
  usage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { scenario: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length) throw new CliError(`unexpected argument '${positionals[0]}' (see openpnc chaos --help)`);
    if (!values.scenario) throw new CliError('--scenario FILE is required (see deploy/chaos/)');
    const { loadScenario } = await import('../chaos/scenario.ts');
    const { formatReport, runScenario } = await import('../chaos/runner.ts');
    let scenario;
    try {
      scenario = loadScenario(values.scenario);
    } catch (error) {
      throw new CliError(error instanceof PncError ? error.message : String(error));
    }
    const { NETNS_WORK_ENV, runInNetns } = await import('../chaos/netns.ts');
    const attached = process.env[NETNS_WORK_ENV];
    if ('netns' in scenario.deployment && !attached) {
      const topology = scenario.deployment.netns.topology;
      // Progress to stderr with --json, so stdout stays the report.
      const print = (line: string) => (values.json ? console.error(line) : console.log(line));
      try {
        return await runInNetns(resolve(values.scenario), topology, { json: values.json ?? false, print });
      } catch (error) {
        throw new CliError(`chaos run failed: ${error instanceof PncError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`, 1);
      }
    }
    const workDir = attached ?? mkdtempSync(join(tmpdir(), 'openpnc-chaos-'));
    try {
      const report = await runScenario(scenario, { workDir, print: values.json ? () => {} : (line) => console.log(line) });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else for (const line of formatReport(report)) console.log(line);
      return report.holds ? 0 : 1;
    } catch (error) {
      throw new CliError(`chaos run failed: ${error instanceof PncError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}`, 1);
    } finally {
      if (!attached) rmSync(workDir, { recursive: true, force: true });
    }
  },
};
