import assert from "node:assert/strict";
import { test } from "node:test";

import { PlaybackQueue } from "../../legacy_voice/static/legacy_voice/js/playback.js";

// A fake player: each sentence "plays" until the test ends it; its elapsed time is set by hand.
function fakes() {
  const fetched = [];
  const played = [];
  const fetches = new Map();
  const fetchAudio = (text) => {
    fetched.push(text);
    return new Promise((resolve) => fetches.set(text, () => resolve(text)));
  };
  const play = (audio) => {
    let finish;
    const ended = new Promise((resolve) => {
      finish = resolve;
    });
    const playback = { ended, duration: 2, at: -1, elapsed: () => playback.at, stop: () => {}, finish };
    played.push({ audio, playback });
    return playback;
  };
  return { fetched, played, fetches, fetchAudio, play };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("audio is fetched ahead and handed to the player strictly in order", async () => {
  const f = fakes();
  const queue = new PlaybackQueue({ fetchAudio: f.fetchAudio, play: f.play });
  queue.enqueue("One.");
  queue.enqueue("Two.");
  queue.enqueue("Three.");
  assert.deepEqual(f.fetched, ["One.", "Two.", "Three."]); // all requested at once
  f.fetches.get("Three.")();
  f.fetches.get("Two.")();
  await tick();
  assert.deepEqual(f.played, []); // "One." is not ready: nothing jumps the queue
  f.fetches.get("One.")();
  await tick();
  // Ready audio is scheduled at once, back to back: the player plays it without gaps.
  assert.deepEqual(
    f.played.map((p) => p.audio),
    ["One.", "Two.", "Three."],
  );
});

test("idle is announced when everything has played, not before", async () => {
  const f = fakes();
  const queue = new PlaybackQueue({ fetchAudio: f.fetchAudio, play: f.play });
  let idle = 0;
  queue.addEventListener("idle", () => {
    idle += 1;
  });
  queue.enqueue("First.");
  queue.enqueue("Second.");
  f.fetches.get("First.")();
  f.fetches.get("Second.")();
  await tick();
  f.played[0].playback.finish();
  await tick();
  assert.equal(idle, 0);
  f.played[1].playback.finish();
  await tick();
  assert.equal(idle, 1);
  assert.ok(queue.idle);
});

test("stop reports the sentences heard and the heard part of the one playing", async () => {
  const f = fakes();
  const queue = new PlaybackQueue({ fetchAudio: f.fetchAudio, play: f.play });
  queue.enqueue("First sentence here.");
  queue.enqueue("Second sentence is longer than that.");
  queue.enqueue("Third.");
  for (const resolve of f.fetches.values()) resolve();
  await tick();
  f.played[0].playback.finish();
  await tick();
  f.played[1].playback.at = 1; // half of the second sentence has played; the third waits
  const { heard, cut } = queue.stop();
  assert.deepEqual(heard, ["First sentence here."]);
  assert.equal(cut, "Second sentence is");
});

test("a cut in the middle of a word keeps only the whole words", async () => {
  const f = fakes();
  const queue = new PlaybackQueue({ fetchAudio: f.fetchAudio, play: f.play });
  queue.enqueue("Wonderful weather today.");
  f.fetches.get("Wonderful weather today.")();
  await tick();
  f.played[0].playback.at = 1.2; // 60 %: "Wonderful weat|her"
  assert.equal(queue.stop().cut, "Wonderful");
});

test("a sentence whose audio failed is skipped, the rest still plays", async () => {
  const f = fakes();
  const failing = (text) => (text === "Bad." ? Promise.reject(new Error("502")) : f.fetchAudio(text));
  const queue = new PlaybackQueue({ fetchAudio: failing, play: f.play });
  const errors = [];
  queue.addEventListener("error", (event) => errors.push(event.detail.message));
  queue.enqueue("Bad.");
  queue.enqueue("Good.");
  f.fetches.get("Good.")();
  await tick();
  await tick();
  assert.deepEqual(errors, ["502"]);
  assert.deepEqual(
    f.played.map((p) => p.audio),
    ["Good."],
  );
});
