import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectError } from '../helpers/expect-error.ts';
import fc from 'fast-check';
import {
  SdpError,
  decodeSdpRequest,
  decodeSdpResponse,
  encodeSdpRequest,
  encodeSdpResponse,
  formatIpv6,
  parseIpv6,
  type SdpResponse,
} from '../../protocols/sdp/index.ts';
import { PncError } from '../../protocols/errors.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

const sdpError = (fn: () => unknown) => expectError(SdpError, fn);

test('request: 10 bytes, security then transport', () => {
  assert.is(hex(encodeSdpRequest({ security: 'none', transport: 'tcp' })), '01fe9000000000021000');
  assert.is(hex(encodeSdpRequest({ security: 'tls', transport: 'tcp' })), '01fe9000000000020000');
  assert.equal(decodeSdpRequest(bytes('01fe9000000000021000')), { security: 'none', transport: 'tcp' });
  assert.equal(decodeSdpRequest(bytes('01fe9000000000020000')), { security: 'tls', transport: 'tcp' });
  assert.equal(decodeSdpRequest(bytes('01fe9000000000020010')), { security: 'tls', transport: 'udp' });
});

test('response: 28 bytes shaped like the Ioniq exchange in link-layer.md §2.2 (port 0x3b0e, no TLS, TCP)', () => {
  const response: SdpResponse = { address: 'fe80::c690:83ff:fef3:980e', port: 15118, security: 'none', transport: 'tcp' };
  const wire = encodeSdpResponse(response);
  assert.is(wire.length, 28);
  assert.is(hex(wire), '01fe900100000014' + 'fe80000000000000c69083fffef3980e' + '3b0e' + '10' + '00');
  assert.equal(decodeSdpResponse(wire), response);
});

test('property: every response round-trips', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.integer({ min: 1, max: 0xffff }),
      fc.constantFrom('tls' as const, 'none' as const),
      (address, port, security) => {
        const response: SdpResponse = { address: formatIpv6(address), port, security, transport: 'tcp' };
        const decoded = decodeSdpResponse(encodeSdpResponse(response));
        assert.equal(decoded, response);
        assert.is(hex(parseIpv6(decoded.address)), hex(address));
      },
    ),
    { numRuns: 300 },
  );
});

test('malformed requests are typed SdpErrors with the datagram', () => {
  let error = sdpError(() => decodeSdpRequest(bytes('01fe90000000000210')));
  assert.is(error.reason, 'WrongLength');
  assert.is(error.datagram, '01fe90000000000210');
  assert.is(error.code, 'SdpError');

  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe900000000003100000'))).reason, 'WrongLength');
  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe9000000000011000'))).reason, 'WrongLength');
  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe9001000000021000'))).reason, 'WrongPayloadType');
  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe8001000000021000'))).reason, 'WrongPayloadType');
  assert.is(sdpError(() => decodeSdpRequest(bytes('02fd9000000000021000'))).reason, 'InvalidFrame');
  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe9002000000021000'))).reason, 'InvalidFrame');
  error = sdpError(() => decodeSdpRequest(bytes('01fe9000000000022000')));
  assert.is(error.reason, 'UnknownSecurity');
  assert.match(error.message, '0x20');
  assert.is(sdpError(() => decodeSdpRequest(bytes('01fe9000000000021001'))).reason, 'UnknownTransport');
  assert.is(sdpError(() => decodeSdpRequest(new Uint8Array(0))).reason, 'WrongLength');
});

test('malformed responses are typed SdpErrors', () => {
  const good = encodeSdpResponse({ address: 'fe80::1', port: 50000, security: 'tls', transport: 'tcp' });
  assert.is(sdpError(() => decodeSdpResponse(good.subarray(0, 27))).reason, 'WrongLength');
  const zeroPort = Uint8Array.from(good);
  zeroPort[24] = 0;
  zeroPort[25] = 0;
  assert.is(sdpError(() => decodeSdpResponse(zeroPort)).reason, 'InvalidField');
  const badSecurity = Uint8Array.from(good);
  badSecurity[26] = 0x01;
  assert.is(sdpError(() => decodeSdpResponse(badSecurity)).reason, 'UnknownSecurity');
  assert.is(sdpError(() => decodeSdpResponse(encodeSdpRequest({ security: 'tls', transport: 'tcp' }))).reason, 'WrongPayloadType');
  assert.is(sdpError(() => encodeSdpResponse({ address: 'fe80::1', port: 70000, security: 'tls', transport: 'tcp' })).reason, 'InvalidField');
});

test('IPv6 text forms parse to the same 16 bytes; formatting is RFC 5952 canonical', () => {
  assert.is(hex(parseIpv6('fe80::1')), 'fe800000000000000000000000000001');
  assert.is(hex(parseIpv6('[FE80::1%eth0]')), 'fe800000000000000000000000000001');
  assert.is(hex(parseIpv6('::')), '00000000000000000000000000000000');
  assert.is(hex(parseIpv6('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
  assert.is(hex(parseIpv6('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
  assert.is(formatIpv6(parseIpv6('2001:0db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.is(formatIpv6(parseIpv6('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1');
  assert.is(formatIpv6(parseIpv6('::')), '::');
  for (const bad of ['', ':::', '1::2::3', 'fe80::g', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7::8', '::1.2.3.256']) {
    let error: unknown;
    try {
      parseIpv6(bad);
    } catch (e) {
      error = e;
    }
    assert.ok(PncError.is(error, 'InvalidIpv6Address'), `'${bad}' should be refused`);
  }
});

test.run();
