// Typed errors: schema violations on encode name the element path; malformed input on decode is
// always an ExiDecodeError with a bit position.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PncError } from '../../protocols/errors.ts';
import { decodeExi, encodeExi, exiCodecs, ExiDecodeError, ExiEncodeError, type ExiJson, type Iso2Document } from '../../protocols/exi/index.ts';
import { BitWriter } from '../../protocols/exi/runtime.ts';
import { expectError } from '../helpers/expect-error.ts';

const currentDemandReq = (): any => ({
  V2G_Message: {
    Header: { SessionID: '1efcb138a6df3b3a' },
    Body: {
      CurrentDemandReq: {
        DC_EVStatus: { EVReady: true, EVErrorCode: 'NO_ERROR', EVRESSSOC: 50 },
        EVTargetCurrent: { Multiplier: -3, Unit: 'A', Value: 10000 },
        EVMaximumVoltageLimit: { Multiplier: 0, Unit: 'V', Value: 500 },
        ChargingComplete: false,
        EVTargetVoltage: { Multiplier: -1, Unit: 'V', Value: 4200 },
      },
    },
  },
});

const serviceDiscoveryRes = (services: number): any => ({
  V2G_Message: {
    Header: { SessionID: '00' },
    Body: {
      ServiceDiscoveryRes: {
        ResponseCode: 'OK',
        PaymentOptionList: { PaymentOption: ['ExternalPayment'] },
        ChargeService: { ServiceID: 1, ServiceCategory: 'EVCharging', FreeService: false, SupportedEnergyTransferMode: { EnergyTransferMode: ['DC_extended'] } },
        ...(services > 0 ? { ServiceList: { Service: Array.from({ length: services }, (_, i) => ({ ServiceID: i + 2, ServiceCategory: 'Internet', FreeService: true })) } } : {}),
      },
    },
  },
});

function encodeError(document: ExiJson, schema: 'iso2' | 'din' | 'app' = 'iso2'): ExiEncodeError {
  const error = expectError(ExiEncodeError, () => encodeExi(schema, document));
  assert.instance(error, PncError);
  assert.is(error.code, 'ExiEncodeError');
  assert.equal((error.toJSON().data as { path: string }).path, error.path);
  return error;
}

test('a valid message encodes and decodes', () => {
  const bytes = encodeExi('iso2', currentDemandReq());
  assert.equal(decodeExi('iso2', bytes).document, currentDemandReq());
});

test('missing required element: the path names it', () => {
  const doc = currentDemandReq();
  delete doc.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Value;
  assert.is(encodeError(doc).path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Value');
  const noTarget = currentDemandReq();
  delete noTarget.V2G_Message.Body.CurrentDemandReq.EVTargetVoltage;
  assert.is(encodeError(noTarget).path, 'V2G_Message.Body.CurrentDemandReq.EVTargetVoltage');
  const noHeader = currentDemandReq();
  delete noHeader.V2G_Message.Header;
  assert.is(encodeError(noHeader).path, 'V2G_Message.Header');
});

test('facets: integer ranges, enumerations, string and byte lengths', () => {
  const multiplier = currentDemandReq();
  multiplier.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Multiplier = 4;
  const m = encodeError(multiplier);
  assert.is(m.path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Multiplier');
  assert.match(m.message, /outside \[-3, 3\]/);
  const value = currentDemandReq();
  value.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Value = 40000;
  assert.is(encodeError(value).path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Value');
  const fraction = currentDemandReq();
  fraction.V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC = 50.5;
  assert.is(encodeError(fraction).path, 'V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC');
  const soc = currentDemandReq();
  soc.V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC = 101;
  assert.is(encodeError(soc).path, 'V2G_Message.Body.CurrentDemandReq.DC_EVStatus.EVRESSSOC');
  const unit = currentDemandReq();
  unit.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Unit = 'mA';
  assert.match(encodeError(unit).message, /"mA" is not one of/);
  const session = currentDemandReq();
  session.V2G_Message.Header.SessionID = '00'.repeat(9);
  const s = encodeError(session);
  assert.is(s.path, 'V2G_Message.Header.SessionID');
  assert.match(s.message, /byte length 9 outside \[0, 8\]/);
  const hex = currentDemandReq();
  for (const bad of ['xyz', 'zz', '0g', '\u00e9\u00e9']) {
    hex.V2G_Message.Header.SessionID = bad;
    assert.match(encodeError(hex).message, /V2G_Message.Header.SessionID: expected a hex string/);
  }
  const evseId = { V2G_Message: { Header: { SessionID: '00' }, Body: { ChargingStatusRes: { ResponseCode: 'OK', EVSEID: 'x'.repeat(38), SAScheduleTupleID: 1, AC_EVSEStatus: { NotificationMaxDelay: 0, EVSENotification: 'None', RCD: false } } } } };
  assert.match(encodeError(evseId).message, /string length 38 outside \[7, 37\]/);
});

test('maxOccurs: 8 Services encode, 9 are refused', () => {
  const eight = encodeExi('iso2', serviceDiscoveryRes(8));
  assert.is((decodeExi('iso2', eight).document as any).V2G_Message.Body.ServiceDiscoveryRes.ServiceList.Service.length, 8);
  const error = encodeError(serviceDiscoveryRes(9));
  assert.is(error.path, 'V2G_Message.Body.ServiceDiscoveryRes.ServiceList.Service');
  assert.match(error.message, /9 occurrences outside \[1, 8\]/);
  const badItem = serviceDiscoveryRes(3);
  badItem.V2G_Message.Body.ServiceDiscoveryRes.ServiceList.Service[2].ServiceCategory = 'Coffee';
  assert.is(encodeError(badItem).path, 'V2G_Message.Body.ServiceDiscoveryRes.ServiceList.Service[2].ServiceCategory');
});

test('maxOccurs 1024: a PMaxSchedule of 1024 entries round-trips, 1025 are refused', () => {
  const schedule = (entries: number): any => ({
    V2G_Message: {
      Header: { SessionID: '0899a6647929a1b0' },
      Body: {
        ChargeParameterDiscoveryRes: {
          ResponseCode: 'OK',
          EVSEProcessing: 'Finished',
          SAScheduleList: {
            SAScheduleTuple: [
              { SAScheduleTupleID: 1, PMaxSchedule: { PMaxScheduleEntry: Array.from({ length: entries }, (_, i) => ({ RelativeTimeInterval: { start: i * 60 }, PMax: { Multiplier: 1, Unit: 'W', Value: 1000 + i } })) } },
            ],
          },
          AC_EVSEChargeParameter: { AC_EVSEStatus: { NotificationMaxDelay: 0, EVSENotification: 'None', RCD: false }, EVSENominalVoltage: { Multiplier: -2, Unit: 'V', Value: 23000 }, EVSEMaxCurrent: { Multiplier: -3, Unit: 'A', Value: 13000 } },
        },
      },
    },
  });
  const full = schedule(1024);
  assert.equal(decodeExi('iso2', encodeExi('iso2', full)).document, full);
  const error = encodeError(schedule(1025));
  assert.is(error.path, 'V2G_Message.Body.ChargeParameterDiscoveryRes.SAScheduleList.SAScheduleTuple[0].PMaxSchedule.PMaxScheduleEntry');
});

test('choices and unknown names', () => {
  const two = currentDemandReq();
  two.V2G_Message.Body.SessionStopReq = { ChargingSession: 'Terminate' };
  assert.is(encodeError(two).path, 'V2G_Message.Body.SessionStopReq');
  const unknown = currentDemandReq();
  unknown.V2G_Message.Body.CurrentDemandReq.Colour = 'red';
  assert.is(encodeError(unknown).path, 'V2G_Message.Body.CurrentDemandReq.Colour');
  // Deep inside a subtree the encoder would otherwise take as it is (no bytes below): still named.
  const deep = currentDemandReq();
  deep.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Colour = 'red';
  assert.is(encodeError(deep).path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent.Colour');
  const listAsObject = currentDemandReq();
  listAsObject.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent = [listAsObject.V2G_Message.Body.CurrentDemandReq.EVTargetCurrent];
  assert.is(encodeError(listAsObject).path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent');
  assert.is(encodeError({ V2G_Message: 1 } as never).path, 'V2G_Message');
  assert.is(encodeError({ a: {}, b: {} }).path, '');
  assert.is(encodeError({ supportedAppProtocolRes: { ResponseCode: 'OK' } }, 'app').path, 'supportedAppProtocolRes.ResponseCode');
});

test('bytes deep below are converted beside subtrees taken as they are', () => {
  const res = (sigMeterReading?: string): ExiJson => ({
    V2G_Message: {
      Header: { SessionID: '1efcb138a6df3b3a' },
      Body: {
        CurrentDemandRes: {
          ResponseCode: 'OK',
          DC_EVSEStatus: { EVSEIsolationStatus: 'Valid', EVSEStatusCode: 'EVSE_Ready', NotificationMaxDelay: 0, EVSENotification: 'None' },
          EVSEPresentVoltage: { Multiplier: 0, Unit: 'V', Value: 400 },
          EVSEPresentCurrent: { Multiplier: 0, Unit: 'A', Value: 100 },
          EVSECurrentLimitAchieved: false, EVSEVoltageLimitAchieved: false, EVSEPowerLimitAchieved: false,
          EVSEID: 'DE*PNC*E1', SAScheduleTupleID: 1,
          MeterInfo: { MeterID: 'm1', MeterReading: 1234, ...(sigMeterReading ? { SigMeterReading: sigMeterReading } : {}), TMeter: 1700000000 },
        },
      },
    },
  });
  for (const document of [res(), res('0a0b0c')]) assert.equal(decodeExi('iso2', encodeExi('iso2', document)).document, document);
  const odd = encodeError(res('abc'));
  assert.is(odd.path, 'V2G_Message.Body.CurrentDemandRes.MeterInfo.SigMeterReading');
});

test('typed encode checks value types too', () => {
  const typed = exiCodecs.iso2.decode(encodeExi('iso2', currentDemandReq()));
  (typed.V2G_Message.Header as any).SessionID = '1efcb138a6df3b3a';
  const error = expectError(ExiEncodeError, () => exiCodecs.iso2.encode(typed));
  assert.is(error.path, 'V2G_Message.Header.SessionID');
  assert.match(error.message, /expected a Uint8Array/);
});

test('typed encode: an element given as bytes, an array or null is refused; each result is a copy of its own', () => {
  const typed = exiCodecs.iso2.decode(encodeExi('iso2', currentDemandReq()));
  const request = typed.V2G_Message.Body.CurrentDemandReq as any;
  const first = exiCodecs.iso2.encode(typed);
  const bytes = first.slice();
  for (const wrong of [Uint8Array.of(1, 2), Buffer.from([1, 2]), [request.EVTargetCurrent], null]) {
    const target = request.EVTargetCurrent;
    request.EVTargetCurrent = wrong;
    const error = expectError(ExiEncodeError, () => exiCodecs.iso2.encode(typed));
    request.EVTargetCurrent = target;
    assert.is(error.path, 'V2G_Message.Body.CurrentDemandReq.EVTargetCurrent');
    assert.match(error.message, /expected an element object/);
  }
  request.EVTargetCurrent = { ...request.EVTargetCurrent, Value: 12345 };
  const second = exiCodecs.iso2.encode(typed);
  assert.not.equal(second, first);
  assert.equal(first, bytes, 'a later encode does not write into an earlier result');
  assert.is(Object.getPrototypeOf(second), Uint8Array.prototype);
});

test('typed encode finds the body element however the object holds it (the encoder scans keys for it)', () => {
  const bytes = encodeExi('iso2', currentDemandReq());
  const withBody = (body: (request: unknown) => object): Iso2Document => {
    const typed = exiCodecs.iso2.decode(bytes);
    return { V2G_Message: { ...typed.V2G_Message, Body: body(typed.V2G_Message.Body.CurrentDemandReq) } };
  };
  const stop = { ChargingSession: 'Terminate' };
  const same = [
    (request: unknown) => ({ Colour: 1, CurrentDemandReq: request }),
    (request: unknown) => ({ SessionStopReq: undefined, CurrentDemandReq: request }),
    (request: unknown) => Object.create({ CurrentDemandReq: request }),
    (request: unknown) => Object.defineProperty({}, 'CurrentDemandReq', { value: request, enumerable: false }),
    (request: unknown) => new (class { get CurrentDemandReq() { return request; } })(),
  ];
  for (const body of same) assert.equal(exiCodecs.iso2.encode(withBody(body)), bytes);
  for (const body of [(request: unknown) => ({ SessionStopReq: stop, CurrentDemandReq: request }), (request: unknown) => Object.assign(Object.create({ SessionStopReq: stop }), { CurrentDemandReq: request })]) {
    assert.is(expectError(ExiEncodeError, () => exiCodecs.iso2.encode(withBody(body))).path, 'V2G_Message.Body.SessionStopReq');
  }
  assert.is(expectError(ExiEncodeError, () => exiCodecs.iso2.encode(withBody(() => ({ CurrentDemandReq: null })))).path, 'V2G_Message.Body.CurrentDemandReq');
  const empty = exiCodecs.iso2.encode(withBody(() => ({})));
  assert.equal(exiCodecs.iso2.encode(withBody(() => ({ CurrentDemandReq: undefined }))), empty);
  assert.equal(exiCodecs.iso2.decode(empty).V2G_Message.Body, {});
});

test('malformed input: header, garbage, non-zero trailing bytes, wrong argument', () => {
  const good = encodeExi('iso2', currentDemandReq());
  const noHeader = good.slice();
  noHeader[0] = 0x00;
  assert.is(expectError(ExiDecodeError, () => decodeExi('iso2', noHeader)).bitPosition, 0);
  const options = good.slice();
  options[0] = 0xa0;
  assert.match(expectError(ExiDecodeError, () => decodeExi('iso2', options)).message, /options/);
  const trailing = new Uint8Array([...good, 0, 7]);
  assert.is(expectError(ExiDecodeError, () => decodeExi('iso2', trailing)).bitPosition, (good.length + 1) * 8);
  assert.is(decodeExi('iso2', new Uint8Array([...good, 0, 0])).paddingBytes, 2);
  expectError(ExiDecodeError, () => decodeExi('iso2', new Uint8Array()));
  expectError(ExiDecodeError, () => decodeExi('iso2', '80' as never));
  expectError(ExiDecodeError, () => decodeExi('nope' as never, good));
  // A length prefix far beyond the input fails before allocating: ServiceDiscoveryRes … SessionID length 2^35.
  const hugeLength = new Uint8Array([0x80, 0x98, 0x02, 0xff, 0xff, 0xff, 0xff, 0x7f]);
  assert.match(expectError(ExiDecodeError, () => decodeExi('iso2', hugeLength)).message, /exceeds maxLength|unexpected end|larger/);
});

test('random bytes after a valid header never escape as anything but ExiDecodeError', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(1 + (next() % 64));
    bytes[0] = 0x80;
    for (let k = 1; k < bytes.length; k++) bytes[k] = next();
    for (const schema of ['app', 'iso2', 'din', 'iso2-frag', 'iso2-xmldsig'] as const) {
      try {
        decodeExi(schema, bytes);
      } catch (error) {
        if (!(error instanceof ExiDecodeError)) throw error;
        assert.ok(error.bitPosition >= 0 && error.bitPosition <= bytes.length * 8);
      }
    }
  }
});


test('string table hits (which V2G encoders never write) decode: a repeated ProtocolNamespace as a local value hit', () => {
  const w = new BitWriter();
  w.reset();
  w.bits(0x80, 8);
  w.bits(0, 2); // DocContent: SE(supportedAppProtocolReq)
  const appProtocol = (writeNamespace: () => void, schemaId: number) => {
    w.bits(0, 1); // SE(ProtocolNamespace)
    w.bits(0, 1); // CH
    writeNamespace();
    w.bits(0, 1); // EE
    for (const n of [2, 0]) {
      w.bits(0, 2); // SE(VersionNumberMajor|Minor), CH
      w.uint(n);
      w.bits(0, 1); // EE
    }
    w.bits(0, 2); // SE(SchemaID), CH
    w.bits(schemaId, 8);
    w.bits(0, 3); // EE, SE(Priority), CH
    w.bits(schemaId, 5); // priority schemaId+1, offset by minInclusive 1
    w.bits(0, 2); // EE, EE of AppProtocol
  };
  w.bits(0, 1); // SE(AppProtocol)
  appProtocol(() => w.string('urn:din:70121:2012:MsgDef', 25), 1);
  w.bits(0, 2); // SE(AppProtocol) again (after the first: SE or EE, 2 bits)
  appProtocol(() => w.uint(0), 2); // local value hit, index 0 of a one-entry partition: 0 bits
  w.bits(1, 2); // EE
  const { document } = decodeExi('app', w.finish());
  const namespaces = (document as any).supportedAppProtocolReq.AppProtocol.map((a: { ProtocolNamespace: string }) => a.ProtocolNamespace);
  assert.equal(namespaces, ['urn:din:70121:2012:MsgDef', 'urn:din:70121:2012:MsgDef']);
  // A hit into an empty partition is malformed.
  const bad = new BitWriter();
  bad.reset();
  bad.bits(0x80, 8);
  bad.bits(0, 2);
  bad.bits(0, 3);
  bad.uint(1);
  assert.match(expectError(ExiDecodeError, () => decodeExi('app', bad.finish())).message, /global value hit with no values/);
});

test.run();
