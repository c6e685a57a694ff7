import assert from "node:assert/strict";
import { test } from "node:test";

import { VoiceActivity } from "../../legacy_voice/static/legacy_voice/js/vad.js";

const FRAME = 20;

function run(vad, level, ms) {
  const events = [];
  for (let t = 0; t < ms; t += FRAME) {
    const event = vad.feed(level, FRAME);
    if (event) events.push(event);
  }
  return events;
}

function calibrated(noise = 0.01) {
  const vad = new VoiceActivity();
  run(vad, noise, 400);
  return vad;
}

test("speech above the noise floor starts a turn; silence ends it after the hangover", () => {
  const vad = calibrated();
  assert.deepEqual(run(vad, 0.2, 300), ["speech_start"]);
  assert.deepEqual(run(vad, 0.01, 500), []); // a pause between words is not the end
  assert.deepEqual(run(vad, 0.01, 200), ["speech_end"]); // 600 ms of quiet is
});

test("the turn ends within 700 ms of the last word", () => {
  const vad = calibrated();
  run(vad, 0.2, 400);
  let endedAfter = null;
  for (let t = FRAME; t <= 1000 && endedAfter === null; t += FRAME) {
    if (vad.feed(0.01, FRAME) === "speech_end") endedAfter = t;
  }
  assert.ok(endedAfter !== null && endedAfter <= 700, `ended after ${endedAfter} ms`);
});

test("a click shorter than the start time is not speech", () => {
  const vad = calibrated();
  assert.deepEqual(run(vad, 0.5, 60), []);
  assert.deepEqual(run(vad, 0.01, 400), []);
});

test("hysteresis: a level between the end and start thresholds keeps the turn going", () => {
  const vad = calibrated(0.02);
  run(vad, 0.3, 200);
  const between = (vad.startThreshold + vad.endThreshold) / 2;
  assert.deepEqual(run(vad, between, 2000), []);
  assert.equal(vad.state, "speech");
});

test("a noisy room raises the thresholds: its noise is not speech", () => {
  const vad = calibrated(0.08);
  assert.deepEqual(run(vad, 0.1, 1000), []);
  assert.deepEqual(run(vad, 0.5, 200), ["speech_start"]);
});

test("aboveMs measures sustained speech, for barge-in", () => {
  const vad = calibrated();
  run(vad, 0.3, 300);
  assert.ok(vad.aboveMs >= 300);
  vad.feed(0.01, FRAME);
  assert.equal(vad.aboveMs, 0);
});
