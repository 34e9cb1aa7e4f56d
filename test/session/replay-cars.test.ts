// Replay of real cars (charging-session.md §5): the request streams of the Hyundai Ioniq, Tesla
// Model X / Model Y and Polestar 2 captures (DIN 70121, EIM) and of the ISO-2 / DIN EIM EVCCs of the
// dSPACE captures, SessionID rewritten to ours, are answered by our SECC with responses of the
// right types, in order, to the capture's end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { duplexPair } from '../../actors/transport/duplex-pair.ts';
import type { StoryResult } from '../../actors/story/index.ts';
import type { SeccStation } from '../../actors/participants/secc/index.ts';
import { backOffice, station } from './helpers.ts';
import { loadCaptures } from './captures.ts';
import { replayRequests } from './replay.ts';

let story: StoryResult;
let secc: SeccStation;
/** A DIN-only station, as the charger in the pyPLC captures was (the Polestar also offers ISO-2). */
let dinOnly: SeccStation;
test.before(async () => {
  story = await backOffice();
  secc = await station(story);
  dinOnly = await station(story, { name: 'din-only', config: { protocols: ['din'] } });
});
test.after(async () => {
  await story?.stop();
});

const CARS = /Ioniq|ModelY|polestar2|tesla_model_x|DIN_DC_DS5366_Josev|ISO-2_AC_DS5366\.|ISO-2_DC_DS5366\.pcapng#tcp0|ISO-2_DC_multi_EVSE/;
const captures = loadCaptures().filter((capture) => CARS.test(capture.name) && capture.requests.length > 0);

test('the corpus holds the real cars named in charging-session.md §5', () => {
  for (const car of ['Ioniq', 'ModelY', 'polestar2', 'tesla_model_x']) assert.ok(captures.some((c) => c.name.includes(car)), car);
  assert.ok(captures.length >= 12, `${captures.length} captures`);
});

for (const capture of captures) {
  test(`replay ${capture.name}: ${capture.requests.length} captured requests answered in order`, async () => {
    const [charger, car] = duplexPair();
    const din = capture.requests.some((row) => row.schema === 'din');
    const served = (din ? dinOnly : secc).serve(charger);
    const exchanges = await replayRequests(car, capture.requests);
    const output = await served;
    const captured = exchanges.filter((e) => e.captured);
    assert.is(captured.length, capture.requests.length, `every captured request was sent (${exchanges.map((e) => `${e.request}→${e.code}`).join(' ')}; SECC: ${output.closeReason ?? output.lastCode})`);
    for (const e of exchanges) {
      assert.is(e.response, e.request.replace(/Req$/, 'Res'), `${e.request} answered with its own type`);
      assert.not.match(e.code, /^FAILED/i, `${e.request} answered ${e.code}`);
    }
  });
}

test.run();
