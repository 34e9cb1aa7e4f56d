import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makePcid, parsePcid, pcidKey, samePcid, PcidSyntaxError } from '../../protocols/identifiers/index.ts';

function reason(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.instance(error, PcidSyntaxError);
    return (error as PcidSyntaxError).reason;
  }
  throw new Error('accepted');
}

test('parses the PCIDs seen in public clients', () => {
  assert.equal(parsePcid('WMI123456712345678'), { wmi: 'WMI', vehicleId: '12345671234567', checkCharacter: '8', value: 'WMI123456712345678' });
  assert.equal(parsePcid('HUBOpenProvCert001'), { wmi: 'HUB', vehicleId: 'OpenProvCert00', checkCharacter: '1', value: 'HUBOpenProvCert001' });
  assert.is(parsePcid('hubjectopenpnc001').checkCharacter, undefined);
});

test('syntax errors say what is wrong', () => {
  assert.match(reason(() => parsePcid('WMI12345')), 'must have 17 characters');
  assert.match(reason(() => parsePcid('WMI-2345671234567')), "contains '-'");
  assert.match(reason(() => makePcid('WM', '12345671234567')), 'WMI must have 3');
  assert.match(reason(() => makePcid('WMI', '1234567')), 'vehicle ID must have 14');
  assert.match(reason(() => makePcid('WMI', '12345671234567', '##')), 'check character');
});

test('makePcid builds what parsePcid reads back', () => {
  const pcid = makePcid('ABC', 'VEHICLE0000042', '7');
  assert.is(pcid, 'ABCVEHICLE00000427');
  assert.is(parsePcid(pcid).wmi, 'ABC');
  assert.is(makePcid('ABC', 'VEHICLE0000042'), 'ABCVEHICLE0000042');
});

test('one rule: a PCID matches as issued, never re-cased', () => {
  assert.is(pcidKey('HUBOpenProvCert001'), 'HUBOpenProvCert001');
  assert.ok(samePcid('HUBOpenProvCert001', 'HUBOpenProvCert001'));
  assert.not.ok(samePcid('HUBOpenProvCert001', 'HUBOPENPROVCERT001'), 'a re-cased PCID is another PCID');
  assert.not.ok(samePcid('HUBOpenProvCert001', 'not a pcid'));
  assert.match(reason(() => pcidKey('HUB-OpenProvCert01')), "contains '-'");
});

test.run();
