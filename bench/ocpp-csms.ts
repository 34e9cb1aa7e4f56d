// bench:ocpp's CSMS process: the story's back office with the CSMS edge in front of it, N station
// passwords, and a bare TLS WebSocket echo server for the same-run baseline. Prints one JSON line.
import 'reflect-metadata';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { WebSocketServer } from 'ws';
import { runStory } from '../actors/story/index.ts';
import { loadParticipants } from '../actors/participants/index.ts';
import { startCsms } from '../actors/ocpp/csms.ts';
import { createLogger } from '../actors/host/log.ts';
import { requestSubjectReply } from '../actors/bus/typed.ts';
import { moInterface } from '../protocols/catalogue/mo.ts';
import { oemInterface } from '../protocols/catalogue/oem.ts';
import { certificateHashData } from '../protocols/pki/index.ts';
import { buildInstallationRequest } from '../actors/story/vehicle.ts';
import { flag } from './stats.ts';

const stations = flag('stations', 1000);
const quiet = createLogger({ write: () => {} });
const story = await runStory({ participants: await loadParticipants(), print: () => {} });
const csms = await startCsms({ bus: story.bus, store: story.store, log: quiet, port: 0 });
const passwords: string[] = [];
for (let i = 0; i < stations; i++) passwords.push((await csms.credentials.add(`BENCH-${i}`)).password);

const der = (b64: string) => new x509.X509Certificate(Buffer.from(b64, 'base64'));
const { certificates: moCa } = await requestSubjectReply(story.bus, moInterface.requests.ca, {});
const chain = [story.contract.contractCertificate!, moCa[0], moCa[1]].map(der);
const hashData = certificateHashData(chain, [der(moCa[moCa.length - 1])]).slice(0, 4);
const vehicle = story.vehicle;
const exiRequest = Buffer.from(await buildInstallationRequest(vehicle)).toString('base64');

// Baseline: a TLS WebSocket server that echoes each frame, nothing else.
const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const echoCert = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=127.0.0.1', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
const echoKey = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
const https = createServer({ key: `-----BEGIN PRIVATE KEY-----\n${echoKey.toString('base64')}\n-----END PRIVATE KEY-----\n`, cert: echoCert.toString('pem') });
const echo = new WebSocketServer({ server: https });
echo.on('connection', (socket) => socket.on('message', (data) => socket.send(String(data))));
await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));

process.stdout.write(JSON.stringify({
  url: csms.url, ca: csms.caCertificate, passwords,
  echoUrl: `wss://127.0.0.1:${(https.address() as AddressInfo).port}`,
  idToken: { idToken: story.contract.emaid, type: 'eMAID' }, hashData, exiRequest,
}) + '\n');
process.on('SIGTERM', async () => { echo.close(); https.close(); await csms.close(); await story.stop(); process.exit(0); });
