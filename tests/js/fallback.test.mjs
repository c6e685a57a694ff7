import assert from "node:assert/strict";
import { test } from "node:test";

import { offerLegacy } from "../../voice/static/voice/js/fallback.js";

test("a Realtime failure of the media path or the service offers Legacy", () => {
  for (const code of ["realtime_unavailable", "ice_failed", "connect_timeout", "upstream_error"]) {
    assert.equal(offerLegacy({ mode: "realtime", code, legacyAvailable: true }), true, code);
  }
});

test("a cause Legacy shares does not offer it", () => {
  for (const code of [
    "upstream_auth_failed",
    "NotAllowedError",
    "call_active",
    "throttled",
    "network_error",
    undefined,
  ]) {
    assert.equal(offerLegacy({ mode: "realtime", code, legacyAvailable: true }), false, String(code));
  }
});

test("nothing is offered where Legacy cannot run, nor from Legacy itself", () => {
  assert.equal(offerLegacy({ mode: "realtime", code: "ice_failed", legacyAvailable: false }), false);
  assert.equal(offerLegacy({ mode: "legacy", code: "upstream_error", legacyAvailable: true }), false);
});
