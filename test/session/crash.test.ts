// kill -9 of the SECC while a session is paused loses nothing: the station runs as its own process
// (secc-process.ts) on an on-disk store, serving over TLS on loopback; the EV in this process charges
// with Plug&Charge (a signed MeteringReceipt), pauses (PowerDelivery Stop, SessionStop Pause), the
// SECC is SIGKILLed and started again on the same store, and the EV resumes under its SessionID
// [V2G2-741 area: OK_OldSessionJoined] and charges to the end. The receipt signed before the crash
// is still in the store. Everything waits for events (IPC messages, process exit), never for time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fork, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connectV2gtp } from '../../actors/transport/v2gtp-client.ts';
import { busCpoBackend } from '../../actors/participants/secc/backend.ts';
import type { ReceiptDoc } from '../../actors/participants/secc/session.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { withCleanup } from '../harness/cleanup.ts';
import { backOffice, vehicleOf } from './helpers.ts';
import { answerBackendCalls } from './secc-process.ts';

const SCRIPT = new URL('./secc-process.ts', import.meta.url).pathname;

interface SeccProcess {
  readonly child: ChildProcess;
  readonly port: number;
  receipts(): Promise<ReceiptDoc[]>;
  output(): string;
}

/** Starts the station process on `dir` and resolves once it listens (or rejects with its output if it exits first). */
function startSecc(dir: string, backend: ReturnType<typeof busCpoBackend>): Promise<SeccProcess> {
  const child = fork(SCRIPT, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk) => { output += chunk; });
  child.stderr!.on('data', (chunk) => { output += chunk; });
  answerBackendCalls(child, backend);
  const ask = <T>(kind: string) => new Promise<T>((resolve, reject) => {
    const onMessage = (message: { kind: string } & Record<string, unknown>) => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = () => reject(new Error(`the SECC process exited: ${output}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return ask<{ port: number }>('listening').then(({ port }) => ({
    child, port, output: () => output,
    receipts: () => {
      const answer = ask<{ receipts: ReceiptDoc[] }>('receipts');
      child.send({ kind: 'receipts' });
      return answer.then((m) => m.receipts);
    },
  }));
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
}

test('SIGKILL of the SECC during a pause: after a restart on the same store the EV resumes its SessionID and charges to the end', withCleanup(async (defer) => {
  const story = await backOffice();
  defer(() => story.stop());
  const backend = busCpoBackend(story.bus);
  const dir = tempDir('openpnc-secc-crash-');
  const ev = vehicleOf(story);
  const v2gRoots = story.vehicle.v2gRoots.map((der) => new X509Certificate(Buffer.from(der, 'base64')).toString());
  const connect = async (port: number) => (await connectV2gtp({ host: '127.0.0.1', port, security: { kind: 'tls', v2gRoots } })).connection;

  const before = await startSecc(dir, backend);
  defer(() => { before.child.kill('SIGKILL'); return exited(before.child); });
  const paused = await ev.charge(await connect(before.port), { pause: true, loopIntervalMs: 0, targetSoc: ev.battery.soc + 0.2 });
  assert.is(paused.outcome, 'paused', paused.reason);
  assert.ok(paused.receiptsSigned >= 1, 'the EV signed a MeteringReceipt before pausing');
  const receiptsBefore = (await before.receipts()).filter((r) => r.sessionId === paused.sessionId);
  assert.ok(receiptsBefore.length >= 1, 'the signed receipt was stored before MeteringReceiptRes');

  before.child.kill('SIGKILL');
  assert.is(await exited(before.child), 'SIGKILL');

  const after = await startSecc(dir, backend);
  defer(() => { after.child.kill('SIGKILL'); return exited(after.child); });
  const resumed = await ev.charge(await connect(after.port), { resumeSessionId: paused.sessionId, loopIntervalMs: 0, targetSoc: ev.battery.soc + 0.2 });
  assert.is(resumed.outcome, 'completed', `${resumed.reason ?? ''} ${after.output()}`);
  assert.ok(resumed.joinedOldSession, 'OK_OldSessionJoined');
  assert.is(resumed.sessionId, paused.sessionId);
  const receiptsAfter = await after.receipts();
  for (const receipt of receiptsBefore) {
    assert.equal(receiptsAfter.find((r) => r._id === receipt._id), receipt, `receipt ${receipt._id} survived the crash`);
  }
}));

test.run();
