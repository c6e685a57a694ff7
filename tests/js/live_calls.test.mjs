import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveCalls } from "../../voice/static/voice/js/live_calls.js";

test("a live call is kept until its status says it is over", () => {
  const calls = new LiveCalls();
  calls.track({ id: "a", status: "connecting" });
  calls.track({ id: "a", status: "active" });
  assert.equal(calls.get("a").status, "active");
  calls.track({ id: "a", status: "ended" });
  assert.equal(calls.get("a"), null);
});

test("another tab's call is other; this tab's own is not", () => {
  const calls = new LiveCalls();
  calls.replace([
    { id: "mine", status: "active" },
    { id: "theirs", status: "active" },
    { id: "old", status: "ended" },
  ]);
  assert.equal(calls.other([{ call: { id: "mine" } }]).id, "theirs");
  calls.track({ id: "theirs", status: "ended" });
  assert.equal(calls.other([{ call: { id: "mine" } }]), null);
});

test("while this tab's own start is in flight, no live call counts as another tab's", () => {
  const calls = new LiveCalls();
  calls.track({ id: "new", status: "connecting" });
  assert.equal(calls.other([{ call: null }]), null);
  assert.equal(calls.other([]).id, "new");
});
