import assert from "node:assert/strict";
import { test } from "node:test";

import { socketUrl, urlFor, urlTable } from "../../static/js/urls.js";

const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
const TABLE = {
  placeholder: PLACEHOLDER,
  routes: {
    "call-list": "/api/calls",
    "call-end": `/api/calls/${PLACEHOLDER}/end`,
    "voice-status": "/ws/voice",
  },
};

test("a route is named, and one that takes an id gets it in the placeholder's place", () => {
  const url = urlTable(TABLE);
  assert.equal(url("call-list"), "/api/calls");
  const id = "6f1c3e2a-0000-4000-8000-000000000001";
  assert.equal(url("call-end", id), `/api/calls/${id}/end`);
});

test("an id from outside (the address bar) cannot change the path", () => {
  assert.equal(urlTable(TABLE)("call-end", "../x?y"), "/api/calls/..%2Fx%3Fy/end");
});

test("an unknown name, a missing id or an id too many fails loudly", () => {
  const url = urlTable(TABLE);
  assert.throws(() => url("call-gone"), /no URL named "call-gone"/);
  assert.throws(() => url("call-end"), /needs id/);
  assert.throws(() => url("call-end", null), /needs id/);
  assert.throws(() => url("call-list", "c1"), /takes no id/);
});

test("the status socket is on the page's host, wss under https", () => {
  assert.equal(socketUrl("/ws/voice", "http://localhost:8000/?conversation=c1"), "ws://localhost:8000/ws/voice");
  assert.equal(socketUrl("/ws/voice", "https://voice.example.com/"), "wss://voice.example.com/ws/voice");
});

test("client modules load without a document, and the page's table is read on first use", async () => {
  await import("../../static/js/call_record.js"); // imports urls.js; node has no document
  let reads = 0;
  globalThis.document = {
    getElementById(id) {
      reads += 1;
      return id === "voice-urls" ? { textContent: JSON.stringify(TABLE) } : null;
    },
  };
  try {
    assert.equal(urlFor("call-end", "c1"), "/api/calls/c1/end");
    assert.equal(urlFor("voice-status"), "/ws/voice");
    assert.equal(reads, 1);
  } finally {
    delete globalThis.document;
  }
});
