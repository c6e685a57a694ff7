import assert from "node:assert/strict";
import { test } from "node:test";

import { SentenceSplitter, speakable } from "../../legacy_voice/static/legacy_voice/js/sentences.js";

function split(...pieces) {
  const splitter = new SentenceSplitter();
  const out = [];
  for (const piece of pieces) out.push(...splitter.push(piece));
  return { streamed: [...out], all: [...out, ...splitter.flush()] };
}

test("sentences are released as soon as they are complete", () => {
  const { streamed, all } = split("Hello there. How ", "are you? I am ", "fine");
  assert.deepEqual(streamed, ["Hello there.", "How are you?"]);
  assert.deepEqual(all, ["Hello there.", "How are you?", "I am fine"]);
});

test("abbreviations and initials do not end a sentence", () => {
  const { all } = split("Dr. Smith met Mr. J. R. Tolkien at 5 p.m. on Main St. yesterday. Then he left.");
  assert.deepEqual(all, ["Dr. Smith met Mr. J. R. Tolkien at 5 p.m. on Main St. yesterday.", "Then he left."]);
});

test("numbers with dots are not sentence ends", () => {
  const { all } = split("Pi is about 3.14 and e is 2.718. Version 1.2.3 shipped.");
  assert.deepEqual(all, ["Pi is about 3.14 and e is 2.718.", "Version 1.2.3 shipped."]);
});

test("code blocks are not spoken, even when they stream in pieces", () => {
  const { all } = split("Run this:\n``", "`python\nprint('a. b. c.')\n`", "``\nThat prints it. Done.");
  assert.deepEqual(all, ["Run this:", "That prints it.", "Done."]);
});

test("list items and paragraphs break sentences; markdown is stripped", () => {
  const { all } = split("Options:\n- **Fast** mode\n- [Slow](http://x) mode\n\n## Next\nEnd");
  assert.deepEqual(all, ["Options:", "Fast mode", "Slow mode", "Next End"]);
});

test("question and exclamation marks, quotes after the mark", () => {
  const { all } = split('She said "stop!" Then why? Because.');
  assert.deepEqual(all, ['She said "stop!"', "Then why?", "Because."]);
});

test("nothing speakable is dropped", () => {
  assert.deepEqual(split("...  ", "**").all, []);
  assert.equal(speakable("  `code`  and  _this_ "), "code and this");
});
