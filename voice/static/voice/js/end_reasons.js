// What the page says when a call ends without this page ending it: the server's
// `ended_reason` (docs/api.md's end reasons) as a sentence the caller can act on.

/** @type {Record<string, string | undefined>} */
const NOTICES = {
  other_tab: "This call was ended from another tab.",
  max_duration: "This call reached the longest call allowed.",
  idle: "This call was hung up because nobody spoke for a while.",
  budget_exceeded: "This call was ended: this month's voice budget is spent.",
  upstream_ended: "OpenAI ended this call (it reached its maximum length).",
  connect_timeout: "This call never connected, so it was ended.",
  assistant: "The assistant ended the call.",
  admin: "An administrator ended this call.",
  page_closed: "This call was ended when its page was closed.",
};

/** @param {string} reason @returns {string} */
export function endedNotice(reason) {
  return NOTICES[reason] ?? "This call was ended elsewhere.";
}
