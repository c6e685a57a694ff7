import assert from "node:assert/strict";
import { test } from "node:test";

import { EventStreamParser, serverEvents } from "../../static/js/server_events.js";

test("events split across chunks come out whole, in order", () => {
  const parser = new EventStreamParser();
  assert.deepEqual(parser.push('event: delta\ndata: {"te'), []);
  assert.deepEqual(parser.push('xt": "Hel"}\n\nevent: delta\ndata: {"text": "lo"}\n'), [["delta", { text: "Hel" }]]);
  assert.deepEqual(parser.push('\nevent: done\ndata: {"text": "Hello"}\n\n'), [
    ["delta", { text: "lo" }],
    ["done", { text: "Hello" }],
  ]);
});

test("comments, CRLF line ends and unparsable data are skipped; an unnamed event is a message", () => {
  const parser = new EventStreamParser();
  const events = parser.push(
    ': keep-alive\r\n\r\ndata: not json\n\ndata: {"a": 1}\n\nevent: error\ndata:{"code":"x"}\n\n',
  );
  assert.deepEqual(events, [
    ["message", { a: 1 }],
    ["error", { code: "x" }],
  ]);
});

// Read from a fetch body, as the Legacy call reads its reply stream.

function body(...chunks) {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(stream) {
  const events = [];
  for await (const event of serverEvents(stream)) events.push(event);
  return events;
}

test("events split across chunks arrive whole and in order", async () => {
  const events = await collect(
    body('event: start\ndata: {"item_id": "a"}\n\nevent: del', 'ta\ndata: {"text": "Hi: there"}\n', "\n"),
  );
  assert.deepEqual(events, [
    ["start", { item_id: "a" }],
    ["delta", { text: "Hi: there" }],
  ]);
});

test("comments, blocks without data and CRLF line ends are handled", async () => {
  const events = await collect(body(": keep-alive\n\nevent: done\r\ndata: {}\r\n\r\nevent: x\n\n"));
  assert.deepEqual(events, [["done", {}]]);
});
