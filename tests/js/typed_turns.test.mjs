import assert from "node:assert/strict";
import { test } from "node:test";

import {
  cleanMessage,
  MESSAGE_MAX,
  readAloudText,
  realtimeTextEvents,
  textTurnEnded,
  textTurnEvent,
  textTurnStart,
  typedItemId,
  typedRoute,
} from "../../voice/static/voice/js/typed_turns.js";

test("a message is trimmed, not empty, and within the reply endpoints' limit", () => {
  assert.deepEqual(cleanMessage("  hello \n"), { text: "hello" });
  assert.ok(cleanMessage(" \n ").error);
  assert.ok(cleanMessage("x".repeat(MESSAGE_MAX + 1)).error);
});

test("typed text goes to the conversation with no call, to the call once it is up, and waits while it connects", () => {
  assert.equal(typedRoute(null), "conversation");
  assert.equal(typedRoute({ status: "connecting", call: null }), "wait");
  assert.equal(typedRoute({ status: "listening", call: { mode: "realtime" } }), "realtime");
  assert.equal(typedRoute({ status: "speaking", call: { mode: "legacy" } }), "legacy");
});

test("item ids fit OpenAI's 32 characters and the transcript's id pattern", () => {
  const id = typedItemId();
  assert.ok(id.length <= 32, id);
  assert.match(id, /^[A-Za-z0-9_.:-]{1,64}$/);
  assert.notEqual(typedItemId(), id);
});

test("a typed Realtime turn is a user input_text item, then a reply; a reply under way is cancelled first", () => {
  const events = realtimeTextEvents({ text: "hi", itemId: "text_1" });
  assert.deepEqual(
    events.map((event) => event.type),
    ["conversation.item.create", "response.create"],
  );
  assert.deepEqual(events[0].item, {
    id: "text_1",
    type: "message",
    role: "user",
    content: [{ type: "input_text", text: "hi" }],
  });
  const over = realtimeTextEvents({ text: "hi", itemId: "text_2", replying: true });
  assert.deepEqual(
    over.map((event) => event.type),
    ["response.cancel", "output_audio_buffer.clear", "conversation.item.create", "response.create"],
  );
});

test("a text reply streams in, and done gives the saved text", () => {
  let turn = textTurnStart({ text: "hi", userItemId: "u", replyItemId: "r" });
  assert.equal(turn.user.source, "text");
  assert.equal(turn.reply.previous_item_id, "u");
  turn = textTurnEvent(turn, ["delta", { text: "Hel" }]);
  turn = textTurnEvent(turn, ["delta", { text: "lo" }]);
  assert.equal(turn.reply.text, "Hello");
  assert.equal(turn.status, "streaming");
  turn = textTurnEvent(turn, ["done", { message_id: 7, text: "Hello." }]);
  assert.deepEqual([turn.status, turn.reply.text], ["done", "Hello."]);
  assert.equal(textTurnEnded(turn), turn);
});

test("an error event or a stream that stops short ends the turn with a message", () => {
  const start = textTurnStart({ text: "hi", userItemId: "u", replyItemId: "r" });
  const failed = textTurnEvent(start, ["error", { code: "upstream_error", message: "OpenAI failed." }]);
  assert.deepEqual([failed.status, failed.error], ["error", "OpenAI failed."]);
  const dropped = textTurnEnded(textTurnEvent(start, ["delta", { text: "Hel" }]));
  assert.equal(dropped.status, "error");
  assert.equal(dropped.reply.text, "Hel");
  assert.equal(textTurnEvent(start, ["start", { item_id: "x" }]), start); // unknown events change nothing
});

test("what is read aloud skips code, and a long reply is cut at a word", () => {
  assert.equal(readAloudText("Run this:\n```\nls -la\n```\nThen  look."), "Run this: Then look.");
  assert.equal(readAloudText("one two three", 9), "one two");
});
