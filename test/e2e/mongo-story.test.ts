// The whole story, processes 1–7 (the charging session included), with every participant's state in
// the MongoDB at MONGODB_URI (a replica set as deploy/README.md §7 renders it, or a single server):
// the same story as `npm start`, on the shared store. Needs a server; none can be installed here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MongoClient } from 'mongodb';
import { loadParticipants } from '../../actors/participants/index.ts';
import { runStory, type StoryResult } from '../../actors/story/index.ts';
import { ACTORS_COLLECTION } from '../../actors/host/actor.ts';

const uri = process.env.MONGODB_URI;
if (!uri) {
  console.log('SKIPPED: the story on MongoDB (set MONGODB_URI)');
} else {
  const database = `openpnc_story_${process.pid}`;
  let story: StoryResult | undefined;
  const lines: string[] = [];

  test.after(async () => {
    await story?.stop();
    const admin = new MongoClient(uri);
    await admin.db(database).dropDatabase();
    await admin.close();
  });

  test('the story concludes, installs and charges with the state in MongoDB', async () => {
    story = await runStory({ participants: await loadParticipants(), print: (line) => lines.push(line), mongo: { uri, database } });
    assert.is(story.store.kind, 'mongodb');
    assert.ok(lines.some((line) => line.startsWith('✓ charged')), lines.slice(-5).join('\n'));
    // The actors' records and the contract are where the next process would read them: in the database.
    const actors = await story.store.collection(ACTORS_COLLECTION).find({ participant: 'mo' });
    assert.ok(actors.some((record) => record._id.includes(story!.contract.contractId)), 'the MO contract actor is stored');
  });

  test.run();
}
