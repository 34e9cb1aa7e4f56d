import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openpncSync } from '../helpers/cli.ts';

/** Trimmed, so the expectations read as the terminal shows them. */
function openpnc(...args: string[]) {
  const result = openpncSync(args);
  return { code: result.code, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

test('check-digit prints the check character', () => {
  assert.equal(openpnc('emaid', 'check-digit', 'DE-ABC-C123ABC56'), { code: 0, stdout: '0', stderr: '' });
  assert.equal(openpnc('emaid', 'check-digit', 'emp77twtw00002'), { code: 0, stdout: 'C', stderr: '' });
});

test('validate prints the normalized form or a one-line error with exit 1', () => {
  assert.equal(openpnc('emaid', 'validate', 'de-abc-c123abc56-0'), { code: 0, stdout: 'DEABCC123ABC560', stderr: '' });
  const wrong = openpnc('emaid', 'validate', 'UKSWI123456791A');
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr, "openpnc: invalid EMAID 'UKSWI123456791A': check character is 'A', expected '5'");
  const short = openpnc('emaid', 'validate', 'DE-ABC');
  assert.is(short.code, 1);
  assert.is(short.stderr.split('\n').length, 1);
  assert.match(short.stderr, /^openpnc: invalid EMAID 'DE-ABC': /);
});

test('usage errors and help', () => {
  assert.is(openpnc('emaid', 'check-digit').code, 2);
  assert.match(openpnc('emaid', 'nonsense').stderr, "unknown subcommand 'nonsense'");
  const help = openpnc('emaid', 'validate', '--help');
  assert.is(help.code, 0);
  assert.match(help.stdout, 'check-digit <14 chars>');
});

test('from-din converts a DIN SPEC 91286 EMAID', () => {
  assert.equal(openpnc('emaid', 'from-din', 'NL*BMW*00009L*1'), { code: 0, stdout: 'NLBMW0000009L1Z', stderr: '' });
  assert.is(openpnc('emaid', 'from-din', 'NL*BMW*00009L*2').code, 1);
});

test('pcid validate and make', () => {
  assert.equal(openpnc('pcid', 'validate', 'HUBOpenProvCert001'), { code: 0, stdout: 'HUBOpenProvCert001\twmi=HUB\tvehicleId=OpenProvCert00\tcheck=1', stderr: '' });
  assert.equal(openpnc('pcid', 'make', 'OPN', 'V0000000000001'), { code: 0, stdout: 'OPNV0000000000001', stderr: '' });
  const bad = openpnc('pcid', 'validate', 'WMI-12');
  assert.is(bad.code, 1);
  assert.is(bad.stderr, "openpnc: invalid PCID 'WMI-12': the PCID contains '-'; only letters and digits are allowed");
  assert.is(openpnc('pcid', 'make', 'OPN').code, 2);
});

test.run();
