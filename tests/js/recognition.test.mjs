import assert from "node:assert/strict";
import { test } from "node:test";

import { recognitionProblem } from "../../legacy_voice/static/legacy_voice/js/recognition.js";

test("errors a restart cannot get past stop listening, with words to act on", () => {
  for (const error of ["not-allowed", "service-not-allowed", "network", "audio-capture", "language-not-supported"]) {
    assert.match(recognitionProblem(error), /Server recognition/, error);
  }
});

test("routine stops are restarted, not reported", () => {
  for (const error of ["no-speech", "aborted", undefined, "constructor", "toString"]) {
    assert.equal(recognitionProblem(error), null, String(error));
  }
});
