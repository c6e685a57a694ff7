import assert from "node:assert/strict";
import { test } from "node:test";

import {
  activeResponse,
  buttonView,
  hold,
  letGo,
  letGoAll,
  MIN_HOLD_MS,
  pressEvents,
  pushToTalkFor,
  releaseEvents,
  spaceIsOurs,
  toggleView,
} from "../../voice/static/voice/js/push_to_talk.js";

const config = (pushToTalk, turnDetection = "server_vad") => ({
  realtime: { turn_detection: turnDetection },
  preference: { mode: "realtime", voice: "marin", push_to_talk: pushToTalk },
});

test("a call follows the user's push-to-talk choice in both modes", () => {
  assert.equal(pushToTalkFor("realtime", config(true)), true);
  assert.equal(pushToTalkFor("legacy", config(true)), true);
  assert.equal(pushToTalkFor("realtime", config(false)), false);
  assert.equal(pushToTalkFor("legacy", config(false)), false);
});

test("the admin's manual turns make every Realtime call push-to-talk, not Legacy ones", () => {
  assert.equal(pushToTalkFor("realtime", config(false, "manual")), true);
  assert.equal(pushToTalkFor("legacy", config(false, "manual")), false);
});

test("without Legacy support a Legacy call is hands-free", () => {
  assert.equal(pushToTalkFor("legacy", config(true), { legacySupported: false }), false);
});

test("the toggle is fixed under manual turns, during a call, and without Legacy support", () => {
  assert.deepEqual(
    { ...toggleView("realtime", config(false, "manual")), title: undefined },
    { checked: true, disabled: true, title: undefined },
  );
  assert.equal(toggleView("realtime", config(true), { live: true }).disabled, true);
  assert.equal(toggleView("legacy", config(true), { legacySupported: false }).checked, false);
  assert.equal(toggleView("legacy", config(true), { legacySupported: false }).disabled, true);
  assert.deepEqual(
    { ...toggleView("legacy", config(true)), title: undefined },
    { checked: true, disabled: false, title: undefined },
  );
});

test("the hold starts with the first holder and ends with the last", () => {
  let holders = new Set();
  let step = hold(holders, "pointer");
  assert.equal(step.pressed, true);
  step = hold((holders = step.holders), "key");
  assert.equal(step.pressed, false); // already held: no second press
  step = letGo((holders = step.holders), "pointer");
  assert.equal(step.released, false); // the space bar still holds
  step = letGo((holders = step.holders), "key");
  assert.equal(step.released, true);
  assert.equal(step.holders.size, 0);
});

test("letting go of what does not hold, or of nothing, releases nothing", () => {
  assert.equal(letGo(new Set(["key"]), "pointer").released, false);
  assert.equal(letGo(new Set(), "pointer").released, false);
  assert.equal(letGoAll(new Set()).released, false);
  const all = letGoAll(new Set(["key", "pointer"]));
  assert.equal(all.released, true);
  assert.equal(all.holders.size, 0);
});

test("the space bar is ours on the page and on buttons, not where the user types or picks", () => {
  const space = (target, extra = {}) => ({ code: "Space", key: " ", target, ...extra });
  assert.equal(spaceIsOurs(space({ tagName: "BODY" })), true);
  assert.equal(spaceIsOurs(space({ tagName: "BUTTON" })), true);
  for (const tagName of ["INPUT", "TEXTAREA", "SELECT"]) assert.equal(spaceIsOurs(space({ tagName })), false);
  assert.equal(spaceIsOurs(space({ tagName: "DIV", isContentEditable: true })), false);
  assert.equal(spaceIsOurs(space({ tagName: "BODY" }, { ctrlKey: true })), false);
  assert.equal(spaceIsOurs({ code: "Enter", key: "Enter", target: { tagName: "BODY" } }), false);
});

test("a press clears the input, and stops the assistant only when it is answering", () => {
  assert.deepEqual(pressEvents({}), [{ type: "input_audio_buffer.clear" }]);
  assert.deepEqual(pressEvents({ speaking: true }), [
    { type: "input_audio_buffer.clear" },
    { type: "output_audio_buffer.clear" },
  ]);
  assert.deepEqual(pressEvents({ responseActive: true, speaking: true }), [
    { type: "input_audio_buffer.clear" },
    { type: "response.cancel" },
    { type: "output_audio_buffer.clear" },
  ]);
});

test("a release commits and asks for the reply; a tap is dropped", () => {
  assert.deepEqual(releaseEvents({ heldMs: 1200 }), [
    { type: "input_audio_buffer.commit" },
    { type: "response.create" },
  ]);
  assert.deepEqual(releaseEvents({ heldMs: MIN_HOLD_MS - 1 }), [{ type: "input_audio_buffer.clear" }]);
});

test("the active response is followed from response.created to its response.done", () => {
  let active = activeResponse(null, { type: "response.created", response: { id: "resp_1" } });
  assert.equal(active, "resp_1");
  active = activeResponse(active, { type: "response.output_audio_transcript.delta" });
  assert.equal(active, "resp_1");
  active = activeResponse(active, { type: "response.done", response: { id: "resp_0" } });
  assert.equal(active, "resp_1"); // an older response's end
  assert.equal(activeResponse(active, { type: "response.done", response: { id: "resp_1" } }), null);
});

test("a reply asked for counts as active until it is named, or refused", () => {
  const created = { type: "response.created", response: { id: "resp_2" } };
  assert.equal(activeResponse("requested", { type: "response.done", response: { id: "resp_1" } }), "requested");
  assert.equal(activeResponse("requested", created), "resp_2");
  assert.equal(activeResponse("requested", { type: "error", error: { code: "x" } }), null);
  assert.equal(activeResponse("resp_2", { type: "error", error: { code: "x" } }), "resp_2");
});

test("the button shows only in a push-to-talk call and says whether it listens", () => {
  assert.equal(buttonView({ on: false, status: "listening", held: false }).hidden, true);
  assert.equal(buttonView({ on: true, status: "idle", held: false }).hidden, true);
  assert.equal(buttonView({ on: true, status: "ended", held: false }).hidden, true);
  assert.deepEqual(buttonView({ on: true, status: "connecting", held: false }), {
    hidden: false,
    disabled: true,
    state: "waiting",
    label: "Hold to talk",
  });
  assert.equal(buttonView({ on: true, status: "speaking", held: false }).state, "hold");
  const held = buttonView({ on: true, status: "listening", held: true });
  assert.equal(held.state, "listening");
  assert.match(held.label, /Listening/);
});
