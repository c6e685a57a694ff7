import assert from "node:assert/strict";
import { test } from "node:test";

import { elapsedText, firstTurnTitle, timerRuns, unheardTurnIds } from "../../voice/static/voice/js/page_state.js";

test("the title waits for the first whole user turn, and is cut at 80 characters", () => {
  const partial = [{ item_id: "u1", role: "user", text: "Hel", final: false }];
  assert.equal(firstTurnTitle(partial), null);
  const whole = [
    { item_id: "a0", role: "assistant", text: "Hi", final: true },
    { ...partial[0], text: " Hello there ", final: true },
  ];
  assert.equal(firstTurnTitle(whole), "Hello there");
  const long = firstTurnTitle([{ role: "user", text: "x".repeat(100), final: true }]);
  assert.equal(long.length, 80);
  assert.ok(long.endsWith("…"));
});

test("only turns with no words that never finished are dropped when the call ends", () => {
  const items = [
    { item_id: "heard", role: "user", text: "hi", final: true },
    { item_id: "pending", role: "user", text: "", final: false },
    { item_id: "silence", role: "user", text: "", final: true },
    { item_id: "streaming", role: "assistant", text: "Hel", final: false },
  ];
  assert.deepEqual(unheardTurnIds(items), ["pending"]);
});

test("the timer reads m:ss, then h:mm:ss", () => {
  assert.equal(elapsedText(0), "0:00");
  assert.equal(elapsedText(65_400), "1:05");
  assert.equal(elapsedText(3_726_000), "1:02:06");
});

test("the timer runs only while a call is up", () => {
  for (const word of ["listening", "speaking", "interrupted"]) assert.equal(timerRuns(word), true, word);
  for (const word of ["idle", "connecting", "ended", "error"]) assert.equal(timerRuns(word), false, word);
});
