// The main story in one process: processes 1–6 over the in-process bus and the embedded store,
// ending with the vehicle's own checks of the CertificateInstallationRes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStory } from '../../actors/story/index.ts';
import { storyParticipants } from './helpers.ts';
import { decodeExi } from '../../protocols/exi/index.ts';

test('npm start story: roots, vehicle, contract, CPS signing into the CCP, installation verified by the vehicle', async () => {
  const lines: string[] = [];
  const trace = join(mkdtempSync(join(tmpdir(), 'openpnc-story-test-')), 'trace.jsonl');
  const story = await runStory({ participants: storyParticipants(), print: (line) => lines.push(line), traceFile: trace });
  try {
    assert.is(story.check.responseCode, 'OK');
    assert.is(story.check.emaid, story.contract.emaid);
    assert.is(story.contract.status, 'installed');
    assert.is(story.check.contractKeyScalar.length, 32);
    assert.ok(lines.some((line) => /^✓ verified: /.test(line)));
    const subjects = story.timeline.entries.map((entry) => `${entry.participant} ${entry.subject}`);
    for (const step of [
      'admin rcp.roots.put', 'factory oem.vehicle.produce', 'oem pcp.chain.put', 'customer mo.contract.conclude', 'mo pcp.chain.get',
      'mo rcp.roots.list', 'mo cps.signing', 'cps ccp.contract.put', 'ev cpo.certificate.install', 'cpo ccp.installation',
    ]) assert.ok(subjects.includes(step), `timeline has ${step}`);
    assert.ok(subjects.indexOf('cps ccp.contract.put') < subjects.indexOf('cpo ccp.installation'));
    // Process 7: the car plugs in and charges with Plug&Charge at an SECC.
    assert.match(lines.at(-1)!, /^✓ charged: /);
    for (const step of ['ev v2g CertificateInstallationReq', 'secc v2g CertificateInstallationRes', 'ev v2g PaymentDetailsReq', 'ev v2g AuthorizationReq', 'ev v2g CurrentDemandReq', 'ev v2g MeteringReceiptReq', 'ev v2g SessionStopReq']) {
      assert.ok(subjects.includes(step), `timeline has ${step}`);
    }
    // Before the first V2G message, the link: plug-in, SLAC on both sides, SDP, TLS with the DC=CPO check.
    const at = (pattern: RegExp) => subjects.findIndex((subject) => pattern.test(subject));
    const order = [/^ev plug-in/, /^secc slac SLAC_MATCH\.REQ from .* matched$/, /^ev slac link up/, /^secc sdp answered .* \(asked tls\)/, /^ev sdp SECC at \[fe80::[0-9a-f:]+\]:\d+ tls/, /^secc tls accepted .* TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256/, /^ev tls .*DC=CPO accepted/, /^ev v2g supportedAppProtocolReq$/].map(at);
    assert.ok(order.every((index, i) => index >= 0 && (i === 0 || index > order[i - 1])), `link steps in order: ${order.join(' ')}`);
    assert.not.ok(subjects.some((subject) => subject.includes(' inspect.')));
    // Process 7's backend is OCPP 2.0.1: the SECC's installation and Authorize reach the CPO through the CSMS over a WebSocket.
    for (const step of ['secc ocpp BootNotification', 'csms ocpp InstallCertificate', 'secc ocpp SignCertificate', 'csms ocpp CertificateSigned', 'secc ocpp GetCertificateStatus', 'secc ocpp Get15118EVCertificate', 'csms cpo.certificate.install', 'secc ocpp Authorize', 'csms cpo.contract.authorize', 'secc ocpp TransactionEvent']) {
      assert.ok(subjects.includes(step), `timeline has ${step}`);
    }
    const ocppSteps = story.timeline.entries.filter((entry) => entry.subject.startsWith('ocpp '));
    assert.ok(ocppSteps.every((entry) => entry.outcome === 'ok' && entry.frames?.length === 2), 'every OCPP CALL answered by a CALLRESULT');
    const transactionEvents = ocppSteps.filter((entry) => entry.subject === 'ocpp TransactionEvent').map((entry) => entry.frames![0] as [number, string, string, { eventType: string; idToken?: { idToken: string; type: string }; meterValue: Array<{ sampledValue: Array<{ value: number }> }> }]);
    assert.equal(transactionEvents.map(([, , , payload]) => payload.eventType), ['Started', 'Updated', 'Ended']);
    assert.equal(transactionEvents[0][3].idToken, { idToken: story.contract.emaid, type: 'eMAID' });
    const meter = transactionEvents.map(([, , , payload]) => payload.meterValue[0].sampledValue[0].value);
    assert.ok(meter[2] > meter[0], `meter ${meter.join(' → ')} Wh rises over the session`);
    // The trace carries every EXI message in hex; the response decodes as a CertificateInstallationRes.
    const entries = readFileSync(trace, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const installation = entries.find((entry) => entry.subject === 'cpo.certificate.install');
    assert.ok(installation.exi.exiRequest.length > 100);
    const { document } = decodeExi('iso2', new Uint8Array(Buffer.from(installation.exi.exiResponse, 'hex')));
    const body = (document as { V2G_Message: { Body: Record<string, { ResponseCode?: string }> } }).V2G_Message.Body;
    assert.is(body.CertificateInstallationRes.ResponseCode, 'OK');
    // The trace keeps the OCPP frames whole: the Get15118EVCertificate CALL carries the EV's EXI.
    const overOcpp = entries.find((entry) => entry.subject === 'ocpp Get15118EVCertificate');
    assert.is(overOcpp.frames[0][2], 'Get15118EVCertificate');
    assert.is(overOcpp.frames[1][2].status, 'Accepted');
  } finally {
    await story.stop();
  }
});

test.run();
