"""Init scripts that let browser tests see what the page did, not just what it shows now.

`PAGE_LOG` keeps every status word, notice and error text the page showed, in order, so a
test can assert what happened (never "error", "retrying" before the answer) instead of
catching a momentary state. `MICROPHONE` stands in front of getUserMedia: it keeps every
stream handed out (so a test can check that all tracks were stopped) and can hold the answer
back, as an open permission prompt does.
"""

PAGE_LOG = """
window.__log = { status: [], notice: [], error: [] };
document.addEventListener("DOMContentLoaded", () => {
  const watched = {
    status: "[data-testid=call-status]",
    notice: "#call-notice",
    error: "[data-testid=call-error]",
  };
  for (const [name, selector] of Object.entries(watched)) {
    const node = document.querySelector(selector);
    if (!node) continue;
    const record = () => {
      const text = node.textContent.trim();
      if (text && window.__log[name].at(-1) !== text) window.__log[name].push(text);
    };
    const changes = { childList: true, characterData: true, subtree: true };
    new MutationObserver(record).observe(node, changes);
  }
});
"""

MICROPHONE = """
(() => {
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  let answer = null;
  window.__mic = {
    requests: 0,
    streams: [],
    held: null,
    // From now on, requests wait (an unanswered permission prompt) until answer() is called.
    hold() { this.held = new Promise((resolve) => { answer = resolve; }); },
    answer() { this.held = null; answer?.(); },
    liveTracks() {
      const tracks = this.streams.flatMap((stream) => stream.getTracks());
      return tracks.filter((track) => track.readyState === "live").length;
    },
  };
  devices.getUserMedia = async (constraints) => {
    window.__mic.requests += 1;
    await window.__mic.held;
    const stream = await original(constraints);
    window.__mic.streams.push(stream);
    return stream;
  };
})();
"""


def page_log(page) -> dict[str, list[str]]:
    return page.evaluate("window.__log")


def wait_in_page(page, condition, seconds: float = 10.0):
    """`tests.waiting.wait_for` for conditions that Playwright's own callbacks (routes, events)
    make true: it lets the page's event loop run while it polls."""
    deadline = page.evaluate("Date.now()") + seconds * 1000
    while page.evaluate("Date.now()") < deadline:
        result = condition()
        if result:
            return result
        page.wait_for_timeout(20)
    raise AssertionError(f"not met within {seconds} s")
