import assert from "node:assert/strict";
import { test } from "node:test";

import {
  hangUp,
  heardText,
  incompleteReplyNotice,
  initialState,
  reduce,
  unheardText,
} from "../../realtime/static/realtime/js/call_state.js";

function run(events, start = { ...initialState(), status: "connecting" }) {
  let state = start;
  const saves = [];
  for (const [event, at] of events) {
    const result = reduce(state, event, at ?? 0);
    state = result.state;
    saves.push(...result.saves);
  }
  return { state, saves };
}

const turn = (userId, assistantId, responseId, previous = null) => [
  [{ type: "input_audio_buffer.speech_started", item_id: userId }],
  [{ type: "input_audio_buffer.speech_stopped", item_id: userId }],
  [{ type: "input_audio_buffer.committed", item_id: userId, previous_item_id: previous }],
  [
    {
      type: "conversation.item.added",
      previous_item_id: previous,
      item: { id: userId, type: "message", role: "user", content: [{ type: "input_audio", transcript: null }] },
    },
  ],
  [{ type: "response.created", response: { id: responseId } }],
  [
    {
      type: "response.output_item.added",
      response_id: responseId,
      item: { id: assistantId, type: "message", role: "assistant" },
    },
  ],
  [
    {
      type: "conversation.item.added",
      previous_item_id: userId,
      item: { id: assistantId, type: "message", role: "assistant", content: [] },
    },
  ],
];

test("session.created moves connecting to listening", () => {
  const { state } = run([[{ type: "session.created", session: {} }]]);
  assert.equal(state.status, "listening");
});

test("a full turn: speaking while audio plays, listening after, both items saved", () => {
  const { state, saves } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }],
    [{ type: "response.output_audio_transcript.delta", response_id: "r1", item_id: "a1", delta: "Hello " }],
    [{ type: "response.output_audio_transcript.delta", response_id: "r1", item_id: "a1", delta: "there." }],
    [{ type: "response.output_audio_transcript.done", response_id: "r1", item_id: "a1", transcript: "Hello there." }],
    [{ type: "response.done", response: { id: "r1", status: "completed" } }],
    [{ type: "conversation.item.input_audio_transcription.completed", item_id: "u1", transcript: " Hi! " }],
  ]);
  assert.equal(state.status, "speaking");
  assert.deepEqual(saves, [
    { item_id: "a1", role: "assistant", text: "Hello there.", interrupted: false, previous_item_id: "u1" },
    { item_id: "u1", role: "user", text: "Hi!", interrupted: false, previous_item_id: null },
  ]);
  const after = reduce(state, { type: "output_audio_buffer.stopped", response_id: "r1" }).state;
  assert.equal(after.status, "listening");
});

test("beta event names work like the GA ones", () => {
  const { state, saves } = run([
    [{ type: "session.created" }],
    [
      {
        type: "conversation.item.created",
        previous_item_id: null,
        item: { id: "a1", type: "message", role: "assistant", content: [] },
      },
    ],
    [{ type: "response.audio_transcript.delta", item_id: "a1", delta: "Hi" }],
    [{ type: "response.audio_transcript.done", item_id: "a1", transcript: "Hi" }],
  ]);
  assert.equal(state.items.get("a1").text, "Hi");
  assert.equal(saves.length, 1);
});

test("barge-in: interrupted, the reply is cut where it was heard and saved interrupted", () => {
  const text = "One two three four five six seven eight nine ten eleven twelve.";
  const { state, saves } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 1000],
    [{ type: "response.output_audio_transcript.delta", response_id: "r1", item_id: "a1", delta: text }, 1000],
    // 1.2 s audible at 15 chars/s ≈ 18 characters: "One two three four" at a word boundary
    [{ type: "input_audio_buffer.speech_started", item_id: "u2" }, 2200],
    [{ type: "response.output_audio_transcript.done", response_id: "r1", item_id: "a1", transcript: text }, 2250],
    [
      {
        type: "response.done",
        response: {
          id: "r1",
          status: "cancelled",
          status_details: { reason: "turn_detected" },
          output: [{ id: "a1" }],
        },
      },
      2260,
    ],
    [{ type: "output_audio_buffer.cleared", response_id: "r1" }, 2270],
  ]);
  assert.equal(state.status, "interrupted");
  const item = state.items.get("a1");
  assert.equal(item.interrupted, true);
  assert.equal(heardText(item), "One two three four");
  assert.equal(unheardText(item).trim(), text.slice("One two three four".length).trim());
  const cutSaves = saves.filter((s) => s.item_id === "a1" && s.interrupted);
  assert.ok(cutSaves.length >= 1);
  assert.ok(cutSaves.every((s) => s.text === "One two three four"));
  const resumed = reduce(state, { type: "input_audio_buffer.speech_stopped", item_id: "u2" }).state;
  assert.equal(resumed.status, "listening");
});

test("cleared alone (generation done, audio still queued) still marks the reply interrupted", () => {
  const { state } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 0],
    [
      { type: "response.output_audio_transcript.done", response_id: "r1", item_id: "a1", transcript: "All done here." },
      100,
    ],
    [{ type: "response.done", response: { id: "r1", status: "completed" } }, 100],
    [{ type: "output_audio_buffer.cleared", response_id: "r1" }, 500],
  ]);
  assert.equal(state.items.get("a1").interrupted, true);
  assert.equal(state.status, "interrupted");
});

test("an incomplete output item or a truncation marks the item interrupted", () => {
  const base = run([[{ type: "session.created" }], ...turn("u1", "a1", "r1")]).state;
  const incomplete = reduce(base, { type: "response.output_item.done", item: { id: "a1", status: "incomplete" } });
  assert.equal(incomplete.state.items.get("a1").interrupted, true);
  const truncated = reduce(base, { type: "conversation.item.truncated", item_id: "a1", audio_end_ms: 500 });
  assert.equal(truncated.state.items.get("a1").interrupted, true);
});

test("a late user transcription keeps its place before the reply", () => {
  const { state } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1", null),
    [{ type: "response.output_audio_transcript.done", item_id: "a1", transcript: "Answer" }],
    [{ type: "conversation.item.input_audio_transcription.completed", item_id: "u1", transcript: "Question" }],
  ]);
  assert.equal(state.items.get("a1").previous_item_id, "u1");
  assert.equal(state.items.get("u1").text, "Question");
});

test("user transcription deltas stream, the completed text replaces them", () => {
  const { state } = run([
    [{ type: "conversation.item.input_audio_transcription.delta", item_id: "u1", delta: "Hel" }],
    [{ type: "conversation.item.input_audio_transcription.delta", item_id: "u1", delta: "lo" }],
  ]);
  assert.equal(state.items.get("u1").text, "Hello");
  const done = reduce(state, {
    type: "conversation.item.input_audio_transcription.completed",
    item_id: "u1",
    transcript: "Hello.",
  });
  assert.equal(done.state.items.get("u1").text, "Hello.");
});

test("a failed transcription is saved empty rather than invented", () => {
  const { saves } = run([[{ type: "conversation.item.input_audio_transcription.failed", item_id: "u1", error: {} }]]);
  assert.deepEqual(
    saves.map((s) => [s.item_id, s.text]),
    [["u1", ""]],
  );
});

test("session_expired ends the call with a message; other errors are notices", () => {
  const expired = run([[{ type: "error", error: { code: "session_expired", message: "max" } }]]).state;
  assert.equal(expired.status, "ended");
  assert.match(expired.error.message, /maximum length/);
  const other = run([[{ type: "session.created" }], [{ type: "error", error: { message: "bad event" } }]]).state;
  assert.equal(other.status, "listening");
  assert.equal(other.notice, "bad event");
});

test("unknown and malformed events change nothing", () => {
  const start = run([[{ type: "session.created" }]]).state;
  for (const event of [{ type: "rate_limits.updated" }, { type: "made.up" }, {}, null]) {
    const { state, saves } = reduce(start, event);
    assert.equal(state, start);
    assert.deepEqual(saves, []);
  }
});

test("hanging up while the reply is spoken saves it as heard, interrupted", () => {
  const { state } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 1000],
    [
      {
        type: "response.output_audio_transcript.delta",
        response_id: "r1",
        item_id: "a1",
        delta: "One two three four five six seven.",
      },
      1100,
    ],
  ]);
  const { state: after, saves } = hangUp(state, 2000); // one second heard: about 15 characters
  assert.deepEqual(saves, [
    { item_id: "a1", role: "assistant", text: "One two three", interrupted: true, previous_item_id: "u1" },
  ]);
  assert.equal(after.speaking, null);
  assert.equal(heardText(after.items.get("a1")), "One two three");
});

test("hanging up cuts a finished transcript whose audio still plays", () => {
  const { state, saves: finished } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 0],
    [
      {
        type: "response.output_audio_transcript.done",
        response_id: "r1",
        item_id: "a1",
        transcript: "A long answer that is still being read out loud.",
      },
      100,
    ],
  ]);
  assert.equal(finished.at(-1).interrupted, false); // saved whole when the transcript was done…
  const { saves } = hangUp(state, 1000);
  assert.deepEqual(
    saves.map((s) => [s.text, s.interrupted]),
    [["A long answer", true]],
  ); // …then cut
});

test("hanging up before a reply is audible saves it unheard; after it played, as it is", () => {
  const generating = run([[{ type: "session.created" }], ...turn("u1", "a1", "r1")]).state;
  assert.deepEqual(hangUp(generating, 5000).saves, [
    { item_id: "a1", role: "assistant", text: "", interrupted: true, previous_item_id: "u1" },
  ]);

  const played = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 0],
    [{ type: "response.output_audio_transcript.delta", response_id: "r1", item_id: "a1", delta: "Done." }, 10],
    [{ type: "output_audio_buffer.stopped", response_id: "r1" }, 500],
  ]).state;
  assert.deepEqual(hangUp(played, 5000).saves, [
    { item_id: "a1", role: "assistant", text: "Done.", interrupted: false, previous_item_id: "u1" },
  ]);
});

test("hanging up after a finished, heard turn saves nothing more", () => {
  const { state } = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 0],
    [{ type: "response.output_audio_transcript.done", response_id: "r1", item_id: "a1", transcript: "Hi." }, 10],
    [{ type: "output_audio_buffer.stopped", response_id: "r1" }, 500],
  ]);
  assert.deepEqual(hangUp(state, 5000).saves, []);
});

test("a reply that ended incomplete says why, and the next reply clears it", () => {
  const filtered = run([
    [{ type: "session.created" }],
    ...turn("u1", "a1", "r1"),
    [
      {
        type: "response.done",
        response: { id: "r1", status: "incomplete", status_details: { type: "incomplete", reason: "content_filter" } },
      },
    ],
  ]).state;
  assert.equal(filtered.notice, "The reply was stopped by OpenAI's content filter.");
  const next = reduce(filtered, { type: "response.created", response: { id: "r2" } }).state;
  assert.equal(next.notice, null);

  const long = reduce(filtered, {
    type: "response.done",
    response: { id: "r1", status: "incomplete", status_details: { reason: "max_output_tokens" } },
  }).state;
  assert.match(long.notice, /longest reply allowed/);
});

test("the words for a reply cut short cover both APIs' reasons, and unknown ones", () => {
  assert.match(incompleteReplyNotice("content_filter"), /content filter/);
  assert.equal(incompleteReplyNotice("length"), incompleteReplyNotice("max_output_tokens"));
  assert.equal(incompleteReplyNotice(undefined), "The reply stopped before it was finished.");
  assert.equal(incompleteReplyNotice("toString"), "The reply stopped before it was finished.");
});

test("a typed user item is saved once, marked as typed", () => {
  const event = {
    type: "conversation.item.added",
    previous_item_id: "a1",
    item: { id: "text_1", type: "message", role: "user", content: [{ type: "input_text", text: "Spell it" }] },
  };
  const { state, saves } = reduce(initialState(), event);
  assert.deepEqual(saves, [
    { item_id: "text_1", role: "user", text: "Spell it", interrupted: false, previous_item_id: "a1", source: "text" },
  ]);
  assert.equal(state.items.get("text_1").final, true);
});

test("earlier turns seeded into a continued call are neither shown again nor saved", () => {
  let state = initialState();
  for (const [id, role, type] of [
    ["mem_ab_0", "user", "input_text"],
    ["mem_ab_1", "assistant", "output_text"],
  ]) {
    const result = reduce(state, {
      type: "conversation.item.added",
      item: { id, type: "message", role, content: [{ type, text: "earlier" }] },
    });
    assert.deepEqual(result.saves, []);
    state = result.state;
  }
  assert.equal(state.items.size, 0);
  assert.deepEqual(hangUp(state).saves, []);
});

test("a reply being made is known until it is done, so a typed turn can cancel it first", () => {
  let { state } = reduce(initialState(), { type: "response.created", response: { id: "r1" } });
  assert.equal(state.replying, "r1");
  ({ state } = reduce(state, { type: "response.done", response: { id: "r1", status: "completed" } }));
  assert.equal(state.replying, null);
});

test("push-to-talk: the release's commit ends the barge-in of its press", () => {
  const { state } = run([
    [{ type: "session.created", session: {} }],
    ...turn("u1", "a1", "r1"),
    [{ type: "output_audio_buffer.started", response_id: "r1" }, 0],
    [{ type: "response.output_audio_transcript.delta", response_id: "r1", item_id: "a1", delta: "Hello there" }, 0],
    [{ type: "input_audio_buffer.cleared" }, 500],
    [{ type: "output_audio_buffer.cleared", response_id: "r1" }, 600],
    [{ type: "input_audio_buffer.committed", item_id: "u2", previous_item_id: "a1" }, 2000],
  ]);
  assert.equal(state.status, "listening");
  assert.equal(state.items.get("a1").interrupted, true);
});
