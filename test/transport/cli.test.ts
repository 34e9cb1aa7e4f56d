// `openpnc v2g`: bad invocations get one-line errors naming the problem (the CLI edge's corpus);
// the real listen/connect runs are in netns.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertOneLineError, openpnc } from '../helpers/cli.ts';
import { CliError } from '../../actors/cli/command.ts';
import { v2gCommand } from '../../actors/transport/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

const empty = tempDir('tp-cli');

const cases: [string[], RegExp, number][] = [
  [['v2g'], /expected 'listen' or 'connect'/, 2],
  [['v2g', 'dance', '--if', 'lo'], /expected 'listen' or 'connect'/, 2],
  [['v2g', 'listen', 'extra', '--if', 'lo'], /expected 'listen' or 'connect'/, 2],
  [['v2g', 'listen', '--pki', empty], /--if IF is required/, 2],
  [['v2g', 'listen', '--if', 'lo', '--bogus'], /Unknown option '--bogus'/, 2],
  [['v2g', 'listen', '--if', 'lo', '--tcp-eim-only', '--port', '70000'], /--port must be a whole number from 1 to 65535/, 2],
  [['v2g', 'listen', '--if', 'lo'], /exactly one of --pki DIR \(TLS\) or --tcp-eim-only/, 2],
  [['v2g', 'listen', '--if', 'lo', '--pki', empty, '--tcp-eim-only'], /exactly one of --pki DIR/, 2],
  [['v2g', 'listen', '--if', 'lo', '--tcp'], /--tcp is for connect/, 2],
  [['v2g', 'listen', '--if', 'lo', '--tcp-eim-only', '--port', '0'], /--port must be a whole number from 1 to 65535/, 2],
  [['v2g', 'listen', '--if', 'lo', '--tcp-eim-only', '--sessions', 'many'], /--sessions must be a whole number/, 2],
  [['v2g', 'listen', '--if', 'lo', '--pki', empty], /ENOENT.*secc\.key\.pem/, 1],
  [['v2g', 'listen', '--if', 'tpnosuch0', '--tcp-eim-only'], /TransportUnavailable: no network interface named 'tpnosuch0'/, 1],
  [['v2g', 'listen', '--if', 'lo', '--tcp-eim-only'], /TransportUnavailable: interface 'lo' has no IPv6 link-local address/, 1],
  [['v2g', 'connect', '--if', 'lo'], /exactly one of --pki DIR \(TLS\) or --tcp/, 2],
  [['v2g', 'connect', '--if', 'lo', '--tcp', '--sessions', '1'], /are for listen/, 2],
  [['v2g', 'connect', '--if', 'lo', '--pki', empty], /ENOENT.*v2g-root\.pem/, 1],
  [['v2g', 'connect', '--if', 'tpnosuch0', '--tcp'], /TransportUnavailable: no network interface named 'tpnosuch0'/, 1],
];

test('bad invocations: a CliError naming the problem, exit 2 for usage, 1 for what the machine lacks', async () => {
  for (const [args, pattern, exitCode] of cases) {
    try {
      await v2gCommand.run(args.slice(1));
      assert.unreachable(`${args.join(' ')} must fail`);
    } catch (error) {
      assert.instance(error, CliError, `${args.join(' ')}: ${error}`);
      assert.match((error as CliError).message, pattern);
      assert.is((error as CliError).exitCode, exitCode, args.join(' '));
    }
  }
});

test('as a user sees it: one line on stderr, no stack trace', async () => {
  const [usage, missing] = await Promise.all([openpnc(['v2g', 'listen', '--if', 'lo']), openpnc(['v2g', 'connect', '--if', 'tpnosuch0', '--tcp'])]);
  assertOneLineError(usage, /exactly one of --pki DIR/, 2);
  assertOneLineError(missing, /TransportUnavailable: no network interface named 'tpnosuch0'/, 1);
});

test('--help lists both modes', () => {
  assert.match(v2gCommand.usage, 'openpnc v2g listen --if IF');
  assert.match(v2gCommand.usage, 'openpnc v2g connect --if IF');
});

test.run();
