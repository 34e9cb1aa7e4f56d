import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectError } from '../helpers/expect-error.ts';
import fc from 'fast-check';
import {
  V2gtpError,
  V2gtpFrameReader,
  V2gtpPayloadType,
  decodeV2gtpDatagram,
  decodeV2gtpHeader,
  encodeV2gtp,
  type V2gtpFrame,
} from '../../protocols/v2gtp/index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

// A real app-handshake request and DIN SessionSetupReq from the corpus (vectors_all.tsv ids 1 and 2).
const handshake = bytes('8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30020000040040');
const sessionSetup = bytes('809a004011d018038131a0007400');

const thrown = (fn: () => unknown) => expectError(V2gtpError, fn);

test('encodes the 8-byte header: version, inverse, type, big-endian length', () => {
  assert.is(hex(encodeV2gtp(V2gtpPayloadType.exi, sessionSetup)), '01fe80010000000e' + hex(sessionSetup));
  assert.is(hex(encodeV2gtp(V2gtpPayloadType.sdpRequest, Uint8Array.of(0x10, 0x00))), '01fe9000000000021000');
  assert.is(hex(encodeV2gtp(V2gtpPayloadType.exi, new Uint8Array(0))), '01fe800100000000');
  const big = encodeV2gtp(V2gtpPayloadType.exi, new Uint8Array(0x012345));
  assert.is(hex(big.subarray(0, 8)), '01fe800100012345');
});

test('refuses to frame an unknown payload type', () => {
  const error = thrown(() => encodeV2gtp(0x8002 as V2gtpPayloadType, sessionSetup));
  assert.is(error.reason, 'UnknownPayloadType');
});

test('header checks name the reason and carry the offending header', () => {
  let error = thrown(() => decodeV2gtpHeader(bytes('02fd80010000000e')));
  assert.is(error.code, 'V2gtpError');
  assert.is(error.reason, 'InvalidVersion');
  assert.is(error.header, '02fd80010000000e');
  assert.equal(error.toJSON().data, { reason: 'InvalidVersion', header: '02fd80010000000e' });

  error = thrown(() => decodeV2gtpHeader(bytes('01ff80010000000e')));
  assert.is(error.reason, 'InvalidVersion');

  error = thrown(() => decodeV2gtpHeader(bytes('01fe80020000000e')));
  assert.is(error.reason, 'UnknownPayloadType');
  assert.match(error.message, '0x8002');

  error = thrown(() => decodeV2gtpHeader(bytes('01fe8001ffffffff')));
  assert.is(error.reason, 'PayloadTooLarge');
  assert.is(error.header, '01fe8001ffffffff');

  error = thrown(() => decodeV2gtpHeader(bytes('01fe900000000002'), { payloadTypes: [V2gtpPayloadType.exi] }));
  assert.is(error.reason, 'UnexpectedPayloadType');

  error = thrown(() => decodeV2gtpHeader(bytes('01fe8001')));
  assert.is(error.reason, 'Truncated');

  assert.equal(decodeV2gtpHeader(bytes('01fe800100010000'), { maxPayloadLength: 0x10000 }), { payloadType: 0x8001, payloadLength: 0x10000 });
  assert.is(thrown(() => decodeV2gtpHeader(bytes('01fe800100010001'), { maxPayloadLength: 0x10000 })).reason, 'PayloadTooLarge');
});

test('a datagram must hold exactly the announced payload', () => {
  const frame = decodeV2gtpDatagram(bytes('01fe9000000000021000'));
  assert.is(frame.payloadType, V2gtpPayloadType.sdpRequest);
  assert.is(hex(frame.payload), '1000');
  assert.is(thrown(() => decodeV2gtpDatagram(bytes('01fe900000000002100000'))).reason, 'LengthMismatch');
  assert.is(thrown(() => decodeV2gtpDatagram(bytes('01fe90000000000210'))).reason, 'LengthMismatch');
});

function stream(payloads: Uint8Array[]): Uint8Array {
  return Buffer.concat(payloads.map((p) => encodeV2gtp(V2gtpPayloadType.exi, p)));
}

function assertFrames(frames: V2gtpFrame[], payloads: Uint8Array[]): void {
  assert.equal(
    frames.map((f) => [f.payloadType, hex(f.payload)]),
    payloads.map((p) => [V2gtpPayloadType.exi, hex(p)]),
  );
}

test('several frames in one chunk come out in order', () => {
  const payloads = [handshake, sessionSetup, new Uint8Array(0), sessionSetup];
  const reader = new V2gtpFrameReader();
  assertFrames(reader.push(stream(payloads)), payloads);
  assert.is(reader.bufferedBytes, 0);
  reader.end();
});

test('a stream fed one byte at a time yields every frame exactly when its last byte arrives', () => {
  const payloads = [handshake, new Uint8Array(0), sessionSetup];
  const all = stream(payloads);
  const reader = new V2gtpFrameReader();
  const frames: V2gtpFrame[] = [];
  const completedAt: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const out = reader.push(all.subarray(i, i + 1));
    for (const f of out) completedAt.push(i);
    frames.push(...out);
  }
  assertFrames(frames, payloads);
  const first = 8 + handshake.length - 1;
  assert.equal(completedAt, [first, first + 8, first + 8 + 8 + sessionSetup.length]);
});

test('property: any split of any frame sequence reassembles to the same frames', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (payloads, cuts) => {
        const all = stream(payloads);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const reader = new V2gtpFrameReader();
        const frames: V2gtpFrame[] = [];
        let from = 0;
        for (const point of [...points, all.length]) {
          // Copy each chunk, as a socket would, so views into earlier chunks must stay intact.
          frames.push(...reader.push(Uint8Array.from(all.subarray(from, point))));
          from = point;
        }
        assertFrames(frames, payloads);
        reader.end();
      },
    ),
    { numRuns: 500 },
  );
});

test('property: arbitrary bytes yield frames or a V2gtpError, and never more buffering than one frame', () => {
  const maxPayloadLength = 512;
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 }), fc.boolean(), (chunks, validStart) => {
      const reader = new V2gtpFrameReader({ maxPayloadLength });
      if (validStart) chunks.unshift(bytes('01fe8001000000'));
      try {
        for (const chunk of chunks) {
          for (const frame of reader.push(chunk)) assert.ok(frame.payload.length <= maxPayloadLength);
          assert.ok(reader.bufferedBytes <= 8 + maxPayloadLength);
        }
      } catch (error) {
        assert.instance(error, V2gtpError);
      }
    }),
    { numRuns: 1000 },
  );
});

test('an oversized length is refused from the header, before any payload is buffered', () => {
  const reader = new V2gtpFrameReader({ maxPayloadLength: 1024 });
  assert.equal(reader.push(bytes('01fe8001')), []);
  const error = thrown(() => reader.push(bytes('000004010000')));
  assert.is(error.reason, 'PayloadTooLarge');
  assert.is(error.header, '01fe800100000401');
  assert.is(reader.bufferedBytes, 0);
});

test('frames before a bad header are handed over with the error, and the reader stays failed', () => {
  const good = stream([sessionSetup, handshake]);
  const bad = bytes('01fe80050000000000');
  const reader = new V2gtpFrameReader();
  const error = thrown(() => reader.push(Buffer.concat([good, bad])));
  assert.is(error.reason, 'UnknownPayloadType');
  assert.is(error.header, '01fe800500000000');
  assertFrames([...error.frames], [sessionSetup, handshake]);
  // The stream cannot be resynchronised: every later call repeats the failure.
  assert.is(thrown(() => reader.push(stream([sessionSetup]))), error);
  assert.is(thrown(() => reader.end()), error);
});

test('wrong version inside a stream is detected when split across chunks', () => {
  const reader = new V2gtpFrameReader();
  assertFrames(reader.push(stream([sessionSetup]).subarray(0)), [sessionSetup]);
  assert.equal(reader.push(bytes('01')), []);
  const error = thrown(() => reader.push(bytes('fd800100000000')));
  assert.is(error.reason, 'InvalidVersion');
  assert.is(error.header, '01fd800100000000');
});

test('payload types outside the transport set are refused', () => {
  const reader = new V2gtpFrameReader({ payloadTypes: [V2gtpPayloadType.exi] });
  const error = thrown(() => reader.push(bytes('01fe9000000000021000')));
  assert.is(error.reason, 'UnexpectedPayloadType');
});

test('end() inside a frame reports the truncation instead of dropping the partial message', () => {
  const all = stream([handshake]);
  let reader = new V2gtpFrameReader();
  reader.push(all.subarray(0, 12));
  let error = thrown(() => reader.end());
  assert.is(error.reason, 'Truncated');
  assert.is(error.header, hex(all.subarray(0, 8)));
  assert.match(error.message, `4 of ${handshake.length} payload bytes`);

  reader = new V2gtpFrameReader();
  reader.push(all.subarray(0, 5));
  error = thrown(() => reader.end());
  assert.is(error.reason, 'Truncated');
  assert.is(error.header, hex(all.subarray(0, 5)));
});

test.run();
