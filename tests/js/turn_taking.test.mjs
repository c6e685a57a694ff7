import assert from "node:assert/strict";
import { test } from "node:test";

import { isBackchannel, isSilenceArtefact, TurnTaking } from "../../legacy_voice/static/legacy_voice/js/turn_taking.js";

const FRAME = 20;
const QUIET = 0.005;
const VOICE = 0.12; // a voice close to the microphone (the start threshold is 0.015 here)

// Drives the module with mic frames on a clock; collects every decision with its time.
class Script {
  constructor(options) {
    this.turns = new TurnTaking(options);
    this.at = 0;
    this.log = [];
    this.#take(this.turns.start(this.at));
    this.mic(QUIET, 500); // calibration
    this.log = [];
  }

  mic(level, ms, playbackLevel = 0) {
    for (let t = 0; t < ms; t += FRAME) {
      this.at += FRAME;
      this.#take(this.turns.frame({ level, playbackLevel, at: this.at, dtMs: FRAME }));
    }
    return this;
  }

  // Speech with a small dip between syllables every 200 ms, as real words have.
  speak(ms, playbackLevel = 0, level = VOICE) {
    for (let t = 0; t < ms; t += 200) {
      this.mic(level, Math.min(160, ms - t), playbackLevel);
      if (ms - t > 160) this.mic(QUIET, Math.min(40, ms - t - 160), playbackLevel);
    }
    return this;
  }

  call(method, ...args) {
    this.#take(this.turns[method](...args, this.at));
    return this;
  }

  #take(decisions) {
    for (const decision of decisions) this.log.push({ ...decision, at: this.at });
  }

  types() {
    return this.log.map((decision) => (decision.reason ? `${decision.type}:${decision.reason}` : decision.type));
  }

  first(type) {
    return this.log.find((decision) => decision.type === type);
  }
}

test("hands-free: recording starts with the call; a spoken turn ends after its silence and recording starts afresh", () => {
  const turns = new TurnTaking();
  assert.deepEqual(turns.start(0), [{ type: "start_recording" }]);
  const script = new Script();
  script.speak(1200).mic(QUIET, 800);
  assert.deepEqual(script.types(), ["end_turn", "start_recording"]);
  const { turn } = script.first("end_turn");
  assert.ok(turn.voicedMs >= 900 && turn.spokenMs >= 1000, JSON.stringify(turn));
  assert.equal(turn.duringReply, false);
});

test("no speech energy is never a turn: a silent minute only refreshes the recording", () => {
  const script = new Script();
  script.mic(QUIET, 60_000);
  assert.ok(!script.types().includes("end_turn"));
  assert.ok(script.types().includes("discard_turn:fresh_start")); // uploads stay small
});

test("a short backchannel over the reply neither interrupts nor becomes a turn", () => {
  const script = new Script();
  script.call("playbackStarted");
  script.mic(QUIET, 400, 0.1).speak(350, 0.1).mic(QUIET, 1000, 0.1);
  assert.deepEqual(script.types(), [
    "discard_turn:fresh_start",
    "start_recording",
    "discard_turn:backchannel",
    "start_recording",
  ]);
});

test("a backchannel of up to 600 ms of sound with gaps does not cut the reply", () => {
  const script = new Script();
  script.call("playbackStarted");
  // "mm … hm": two hums of 180 ms with a 200 ms gap, 560 ms from first to last sound.
  script.mic(0.08, 180, 0.1).mic(QUIET, 200, 0.1).mic(0.08, 180, 0.1).mic(QUIET, 1000, 0.1);
  assert.ok(!script.types().includes("interrupt_reply"), script.types().join());
  assert.ok(script.types().includes("discard_turn:backchannel"));
});

test("sustained speech over the reply cuts it within 500 ms of its start and becomes the next turn", () => {
  const script = new Script();
  script.call("playbackStarted");
  script.mic(QUIET, 300, 0.1);
  const speechStart = script.at;
  script.speak(1500, 0.1);
  const cut = script.first("interrupt_reply");
  assert.ok(cut, script.types().join());
  assert.ok(cut.at - speechStart <= 500, `cut after ${cut.at - speechStart} ms`);
  assert.equal(cut.afterMs, cut.at - speechStart); // what the call reports as its reaction time
  script.call("playbackEnded").mic(QUIET, 800);
  const ended = script.first("end_turn");
  assert.ok(ended, script.types().join());
  assert.equal(ended.turn.bargedIn, true);
  assert.ok(ended.at > cut.at);
  // Speech after the cut is still the turn: the recording is not restarted under it.
  const between = script.log.filter((d) => d.at > cut.at && d.at < ended.at);
  assert.deepEqual(
    between.map((d) => d.type),
    [],
  );
});

test("the reply's own echo never interrupts: the threshold rises with the playback level", () => {
  const script = new Script();
  script.call("playbackStarted");
  // Echo at −10 dB of a loud reply, for ten seconds: louder than the bare threshold.
  const playback = 0.2;
  script.speak(10_000, playback, playback * 0.3);
  assert.ok(!script.types().includes("interrupt_reply"), script.types().join());
  assert.ok(!script.types().includes("end_turn"));
});

test("the echo lingers after the playback level drops: the held level still covers it", () => {
  const script = new Script();
  script.call("playbackStarted");
  script.mic(0.05, 400, 0.2);
  script.mic(0.05, 120, 0); // the speaker went quiet, the room still rings for a moment
  script.mic(QUIET, 1000, 0);
  assert.deepEqual(script.types(), ["discard_turn:fresh_start", "start_recording"]); // not even a backchannel
});

test("speech louder than the echo still cuts the reply while it plays", () => {
  const script = new Script();
  script.call("playbackStarted");
  script.speak(1000, 0.2, 0.06 + 0.15);
  assert.ok(script.types().includes("interrupt_reply"), script.types().join());
});

test("the microphone listens again at once when the reply ends, on a fresh recording", () => {
  const script = new Script();
  script.call("playbackStarted").mic(QUIET, 2000, 0.1).call("playbackEnded");
  assert.deepEqual(
    script.log.slice(-2).map((d) => `${d.type}:${d.reason ?? ""}`),
    ["discard_turn:fresh_start", "start_recording:"],
  );
  script.speak(1000).mic(QUIET, 800);
  assert.equal(script.first("end_turn").turn.duringReply, false);
});

test("three turns in a row: each reply is followed by listening and the next turn is taken", () => {
  const script = new Script();
  for (let n = 0; n < 3; n += 1) {
    script.speak(1000).mic(QUIET, 800);
    script.call("playbackStarted").mic(QUIET, 1500, 0.1).call("playbackEnded");
  }
  const ends = script.log.filter((d) => d.type === "end_turn");
  assert.equal(ends.length, 3);
  assert.ok(ends.every((d) => !d.turn.duringReply));
  assert.equal(script.log.at(-1).type, "start_recording");
});

test("transcripts: a backchannel word over the reply is ignored, outside it is an answer", () => {
  const turns = new TurnTaking();
  const over = { voicedMs: 800, peakRatio: 6, duringReply: true };
  const after = { ...over, duringReply: false };
  assert.deepEqual(turns.transcript({ text: "Mm-hm.", turn: over }), { type: "ignore", reason: "backchannel" });
  assert.deepEqual(turns.transcript({ text: "Yeah, yeah. Okay.", turn: over }), {
    type: "ignore",
    reason: "backchannel",
  });
  assert.deepEqual(turns.transcript({ text: "Yeah.", turn: after }), { type: "send", text: "Yeah." });
  assert.deepEqual(turns.transcript({ text: "Yeah, but what about Paris?", turn: over }), {
    type: "send",
    text: "Yeah, but what about Paris?",
  });
});

test("transcripts: a silence artefact with little speech energy is dropped, said loudly it is sent", () => {
  const turns = new TurnTaking();
  const faint = { voicedMs: 500, peakRatio: 1.4, duringReply: false };
  const brief = { voicedMs: 120, peakRatio: 8, duringReply: false };
  const spoken = { voicedMs: 700, peakRatio: 6, duringReply: false };
  for (const text of ["Thank you.", "Thanks for watching!", "you", "Thank you for watching."]) {
    assert.deepEqual(turns.transcript({ text, turn: faint }), { type: "ignore", reason: "silence_artefact" }, text);
    assert.deepEqual(turns.transcript({ text, turn: brief }), { type: "ignore", reason: "silence_artefact" }, text);
  }
  assert.equal(turns.transcript({ text: "Thank you.", turn: spoken }).type, "send");
  assert.equal(turns.transcript({ text: "Thank you, that helps.", turn: faint }).type, "send");
});

test("transcripts: empty or punctuation-only text is never sent", () => {
  const turns = new TurnTaking();
  for (const text of ["", "   ", "...", null]) {
    assert.deepEqual(turns.transcript({ text, turn: null }), { type: "ignore", reason: "empty" });
  }
});

test("the browser's recognition is judged by the speech heard with it", () => {
  const script = new Script();
  script.call("playbackStarted").mic(QUIET, 200, 0.1).speak(300, 0.1);
  const turn = script.turns.recognitionTurn(script.at);
  assert.equal(turn.duringReply, true);
  assert.deepEqual(script.turns.transcript({ text: "uh-huh", turn }), { type: "ignore", reason: "backchannel" });
  const silent = new TurnTaking().recognitionTurn(0);
  assert.deepEqual(new TurnTaking().transcript({ text: "Thank you.", turn: silent }), {
    type: "ignore",
    reason: "silence_artefact",
  });
});

test("backchannel and artefact lists read what speech-to-text writes", () => {
  for (const text of ["Mm-hm.", "mm hmm", "Uh-huh!", "Okay.", "Right, right.", "I see.", "Yeah"]) {
    assert.ok(isBackchannel(text), text);
  }
  for (const text of ["Okay, stop.", "right now", "Yeah no wait", ""]) assert.ok(!isBackchannel(text), text);
  assert.ok(isSilenceArtefact("Thanks for watching."));
  assert.ok(!isSilenceArtefact("Thank you for the answer."));
});

test("push-to-talk: nothing is recorded until the button is held; speech while not holding is ignored", () => {
  const script = new Script({ pushToTalk: true });
  assert.deepEqual(script.turns.start(0), []);
  script.speak(1500).mic(QUIET, 1000);
  assert.deepEqual(script.types(), []);
  assert.equal(script.turns.listening, false);
});

test("push-to-talk: the hold is the turn; a pause while holding does not end it", () => {
  const script = new Script({ pushToTalk: true });
  script.call("pttPress");
  assert.equal(script.turns.listening, true);
  script.speak(800).mic(QUIET, 1500).speak(600);
  assert.deepEqual(script.types(), ["start_recording"]);
  script.call("pttRelease");
  assert.deepEqual(script.types(), ["start_recording", "end_turn"]);
  const { turn } = script.first("end_turn");
  assert.equal(turn.pushToTalk, true);
  assert.ok(turn.voicedMs >= 1000);
});

test("push-to-talk: a hold with no speech is discarded, not sent", () => {
  const script = new Script({ pushToTalk: true });
  script.call("pttPress").mic(QUIET, 1000).call("pttRelease");
  assert.deepEqual(script.types(), ["start_recording", "discard_turn:no_speech"]);
});

test("push-to-talk: pressing while the assistant speaks cuts the reply; echo does not end the hold", () => {
  const script = new Script({ pushToTalk: true });
  script.call("playbackStarted").mic(QUIET, 500, 0.1);
  script.call("pttPress");
  assert.deepEqual(script.types(), ["interrupt_reply", "start_recording"]);
  script.call("playbackEnded").speak(700).call("pttRelease");
  const { turn } = script.first("end_turn");
  assert.equal(turn.duringReply, false); // asked for the floor: "yeah" is an answer here
  assert.equal(script.turns.transcript({ text: "Yeah.", turn }).type, "send");
});

test("push-to-talk in hands-free and back: the running recording is dropped, then listening resumes", () => {
  const script = new Script();
  script.call("setPushToTalk", true);
  assert.deepEqual(script.types(), ["discard_turn:push_to_talk"]);
  script.speak(1000).mic(QUIET, 800);
  assert.deepEqual(script.types(), ["discard_turn:push_to_talk"]);
  script.call("setPushToTalk", false);
  assert.deepEqual(script.types().slice(-1), ["start_recording"]);
  script.speak(1000).mic(QUIET, 800);
  assert.equal(script.types().filter((t) => t === "end_turn").length, 1);
});

test("push-to-talk: releasing a held button when switching modes drops the half-recorded turn", () => {
  const script = new Script({ pushToTalk: true });
  script.call("pttPress").speak(500).call("setPushToTalk", false);
  assert.deepEqual(script.types(), ["start_recording", "discard_turn:push_to_talk", "start_recording"]);
  assert.equal(script.turns.held, false);
});

test("push-to-talk presses and releases out of order are ignored", () => {
  const script = new Script({ pushToTalk: true });
  script.call("pttRelease").call("pttPress").call("pttPress");
  assert.deepEqual(script.types(), ["start_recording"]);
  const hands = new Script();
  hands.call("pttPress").call("pttRelease");
  assert.deepEqual(hands.types(), []);
});

test("speech that began before the reply counts towards a barge-in only from the reply's start", () => {
  const script = new Script();
  script.speak(800);
  script.call("playbackStarted");
  script.speak(300, 0.05);
  assert.ok(!script.types().includes("interrupt_reply"), script.types().join());
  script.speak(400, 0.05);
  assert.ok(script.types().includes("interrupt_reply"), script.types().join());
});

test("with little echo the gate relaxes as the reply plays: normal speech then cuts within 500 ms", () => {
  const script = new Script();
  script.call("playbackStarted").mic(0.004, 5000, 0.2); // good echo cancellation: −34 dB
  assert.ok(script.turns.echoPath < 0.1, `${script.turns.echoPath}`);
  const speechStart = script.at;
  script.speak(800, 0.2, 0.06); // a normal voice, well below the loud reply
  const cut = script.first("interrupt_reply");
  assert.ok(cut && cut.at - speechStart <= 500, script.types().join());
});

test("a strong echo (−12 dB) is learnt upwards, with a margin, and never cuts the reply", () => {
  const script = new Script();
  script.call("playbackStarted");
  script.speak(10_000, 0.2, 0.2 * 0.25);
  assert.ok(!script.types().includes("interrupt_reply"), script.types().join());
  assert.ok(script.turns.echoPath >= 0.3, `${script.turns.echoPath}`);
});

test("the caller's own words do not teach the echo estimate", () => {
  const script = new Script();
  script.call("playbackStarted").mic(0.004, 5000, 0.2);
  const learnt = script.turns.echoPath;
  script.speak(1500, 0.2, 0.08).mic(0.004, 100, 0.2);
  assert.ok(script.turns.echoPath <= learnt * 1.05, `${learnt} → ${script.turns.echoPath}`);
});
