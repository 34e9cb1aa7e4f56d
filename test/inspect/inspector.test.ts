// The statechart inspector in a real headless Chromium: it watches the npm start story from before
// the first participant starts, lights the MO contract's states as they change, shows the
// contract's timeline and message sequence, decodes EXI on click, shows the story's charging session
// as its SECC and EV sides lit side by side with the V2G messages between them, and survives
// malformed requests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadParticipants } from '../../actors/participants/index.ts';
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { startInspector, type RunningInspector } from '../../actors/inspect/server.ts';
import { requestSubjectReply } from '../../actors/bus/typed.ts';
import { moInterface } from '../../protocols/catalogue/mo.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: inspector browser suite (no Chromium at ${CHROMIUM}; apt-get install chromium)`);
  process.exit(0);
}

let inspector: RunningInspector | undefined;
let story: StoryResult | undefined;
let browser: Browser | undefined;
let page: Page;

test.before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  story = await runStory({
    participants: await loadParticipants(),
    print: () => {},
    beforeStart: async (bus, store) => {
      inspector = await startInspector({ bus, store, port: 0 });
      await page.goto(inspector.url);
    },
  });
});

test.after(async () => {
  await browser?.close();
  await inspector?.close();
  await story?.stop();
});

const litStates = (pane = '#diagram') => page.$$eval(`${pane} g.lit`, (elements) => elements.map((element) => element.id));

test('the MO contract actor is listed with its keys, and choosing it lights its state in the diagram', async () => {
  const moKey = `mo/${story!.contract.contractId}`;
  await page.waitForSelector(`#actors li[data-key="${moKey}"]`);
  const keys = await page.$eval(`#actors li[data-key="${moKey}"] .keys`, (element) => element.textContent ?? '');
  assert.match(keys, story!.contract.emaid!);
  await page.click(`#actors li[data-key="${moKey}"]`);
  await page.waitForSelector('#diagram g.lit');
  assert.equal(await litStates(), ['state:mo-contract.installed']);
  assert.match(await page.$eval('#machine-title', (element) => element.textContent ?? ''), /mo-contract: installed/);
});

test('the timeline shows every state of the contract in order and each effect with its duration', async () => {
  const rows = await page.$$eval('#timeline tbody tr', (elements) => elements.map((row) => [...row.children].map((cell) => cell.textContent ?? '')));
  const states = rows.filter((row) => row[1] === 'snapshot').map((row) => row[2]);
  assert.equal(states, ['fetchingChain', 'verifyingChain', 'issuing', 'submitting', 'submitted', 'installed']);
  const effects = rows.filter((row) => row[1] === 'effect');
  assert.equal(effects.map((row) => row[2]), ['fetchProvisioningChain', 'verifyProvisioningChain', 'issueContract', 'submitToCps']);
  for (const effect of effects) assert.match(effect[3], /^\d+ ms done$/);
});

test('the message sequence of the contract spans the participants, and its EXI decodes on click', async () => {
  await page.waitForSelector('#sequence .message.has-exi');
  const subjects = await page.$$eval('#sequence .message', (elements) => elements.map((element) => element.getAttribute('data-subject')));
  for (const subject of ['mo.contract.conclude', 'pcp.chain.get', 'ccp.contract.put', 'ccp.installation']) assert.ok(subjects.includes(subject), `${subject} in ${subjects.join(', ')}`);
  const lanes = await page.$$eval('#sequence text.lane', (elements) => elements.map((element) => element.textContent));
  for (const lane of ['mo', 'pcp', 'cps', 'ccp', 'cpo']) assert.ok(lanes.includes(lane), `lane ${lane}`);
  await page.click('#sequence .message.has-exi[data-subject="ccp.installation"]');
  await page.waitForFunction(`document.querySelector('#exi').textContent.includes('CertificateInstallationRes')`);
  assert.match(await page.$eval('#exi', (element) => element.textContent ?? ''), /CertificateInstallationReq/);
});

test('a change while the page is open lights the new state without a reload (termination)', async () => {
  const operator = story!.identities.handle(story!.bus, 'admin', { role: 'admin', prefixes: [] });
  await requestSubjectReply(operator, moInterface.requests.terminate, { emaid: story!.contract.emaid! });
  await page.waitForFunction(`document.getElementById('state:mo-contract.terminated')?.classList.contains('lit')`);
  assert.equal(await litStates(), ['state:mo-contract.terminated']);
  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = join(ARTIFACTS, 'inspector.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`artifact: ${screenshot}`);
});

test('the charging session: SECC and EV diagrams lit side by side, the V2G sequence between them, EXI decoded on click', async () => {
  const seccKey = await page.$eval('#actors li[data-key^="secc/"][data-state="closed"]', (element) => element.getAttribute('data-key') ?? '');
  const sessionId = seccKey.split('/')[1];
  await page.click(`#actors li[data-key="${seccKey}"]`);
  await page.waitForSelector('#peer:not([hidden]) #peer-diagram g.lit');
  assert.equal(await litStates('#diagram'), ['state:secc.closed']);
  assert.equal(await litStates('#peer-diagram'), ['state:ev.done']);
  assert.is(await page.$eval('#peer', (element) => element.getAttribute('data-key')), `ev/${story!.vehicle.pcid}`);
  assert.match(await page.$eval('#sequence-title', (element) => element.textContent ?? ''), `sessionId ${sessionId}`);
  await page.waitForSelector('#sequence .message[data-subject="ev.v2g.SessionStopRes"]');
  const subjects = await page.$$eval('#sequence .message', (elements) => elements.map((element) => element.getAttribute('data-subject') ?? ''));
  // Handshake first, each request answered before the next one, the stop last [V2G2-538].
  assert.equal(subjects.slice(0, 4), ['secc.v2g.supportedAppProtocolReq', 'ev.v2g.supportedAppProtocolRes', 'secc.v2g.SessionSetupReq', 'ev.v2g.SessionSetupRes']);
  assert.is(subjects.at(-1), 'ev.v2g.SessionStopRes');
  subjects.forEach((subject, index) => assert.is(subject.startsWith(index % 2 === 0 ? 'secc.v2g.' : 'ev.v2g.'), true, `${index}: ${subject}`));
  for (const name of ['CertificateInstallationReq', 'PaymentDetailsReq', 'AuthorizationReq', 'CurrentDemandReq', 'MeteringReceiptReq']) assert.ok(subjects.includes(`secc.v2g.${name}`), `${name} in ${subjects.join(', ')}`);
  assert.equal(await page.$$eval('#sequence text.lane', (elements) => elements.map((element) => element.textContent)), ['ev', 'secc']);
  await page.click('#sequence .message.has-exi[data-subject="secc.v2g.MeteringReceiptReq"]');
  await page.waitForFunction(`document.querySelector('#exi').textContent.includes('MeteringReceiptReq')`);
  assert.match(await page.$eval('#exi', (element) => element.textContent ?? ''), new RegExp(sessionId, 'i'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = join(ARTIFACTS, 'inspector-session.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`artifact: ${screenshot}`);
});

function get(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(inspector!.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, path, method: path.startsWith('POST ') ? 'POST' : 'GET', headers: { connection: 'close' } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

test('malformed requests get a 4xx JSON answer and the inspector keeps serving', async () => {
  const corpus: Array<[string, number]> = [
    ['/api/actor/%zz/x', 400], ['/api/changes?since=-1', 400], ['/api/actor/mo/%E0%A4%A', 400], ['/api/actor/mo', 404], ['/api/actor/nobody/none', 404],
    ['/api/diagram/none.svg', 404], ['/api/diagram/%00.svg', 404], ['/api/sequence', 400], ['/api/sequence?unknown=1', 400],
    ['/api/exi?hex=zz', 400], ['/api/exi?hex=abc', 400], ['/api/exi', 400], [`/api/exi?hex=${'00'.repeat(6_001)}`, 400], ['/api/exi?hex=ffffffff', 422],
    ['/../../etc/passwd', 404], ['/api/../../package.json', 404], ['//', 400], ['/nothing', 404],
  ];
  for (const [path, status] of corpus) {
    const answer = await get(path);
    assert.is(answer.status, status, `${path.slice(0, 80)}: ${answer.body.slice(0, 200)}`);
    assert.type(JSON.parse(answer.body).error, 'string');
  }
  const actors = await get('/api/actors');
  assert.is(actors.status, 200);
  assert.ok(JSON.parse(actors.body).length > 0);
});

test.run();
