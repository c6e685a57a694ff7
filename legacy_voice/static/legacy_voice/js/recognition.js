// The browser's own speech recognition (Web Speech API) and its errors. It stops by itself now
// and then ("no-speech", "aborted") and is simply started again; after the errors below a
// restart fails the same way at once, so listening stops with a message the caller can act on.

/** @type {Record<string, string>} */
const PROBLEMS = {
  "not-allowed":
    "The browser's speech recognition may not use the microphone here. Allow it for this site, or pick Server recognition.",
  "service-not-allowed":
    "The browser's speech recognition is turned off in this browser. Pick Server recognition instead.",
  network: "The browser's speech recognition could not reach its service. Pick Server recognition, or try again later.",
  "audio-capture": "The browser's speech recognition found no microphone. Connect one, or pick Server recognition.",
  "language-not-supported":
    "The browser's speech recognition does not know this language. Pick Server recognition instead.",
};

// The message for an error that ends listening, or null for one that a restart gets past.
/** @param {string} error @returns {string | null} */
export function recognitionProblem(error) {
  return Object.hasOwn(PROBLEMS, error) ? PROBLEMS[error] : null;
}
