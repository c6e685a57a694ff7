import assert from "node:assert/strict";
import { test } from "node:test";

import { endedNotice } from "../../voice/static/voice/js/end_reasons.js";

test("each reason the server ends a call for has its own sentence", () => {
  const reasons = [
    "other_tab",
    "max_duration",
    "idle",
    "budget_exceeded",
    "upstream_ended",
    "connect_timeout",
    "assistant",
    "admin",
    "page_closed",
  ];
  const notices = reasons.map(endedNotice);
  assert.equal(new Set(notices).size, reasons.length);
  assert.ok(!notices.includes(endedNotice(undefined)));
});

test("an unknown reason still reads as a sentence", () => {
  assert.equal(endedNotice("something_new"), "This call was ended elsewhere.");
  assert.equal(endedNotice(null), "This call was ended elsewhere.");
});
