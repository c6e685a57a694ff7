import assert from "node:assert/strict";
import { test } from "node:test";

import {
  canLoadMore,
  cleanTitle,
  debounced,
  displayTitle,
  initialList,
  lastActivity,
  listRequested,
  listUrl,
  moreRequested,
  pageFailed,
  pageLoaded,
  removed,
  renamed,
  touched,
} from "../../voice/static/voice/js/conversation_list.js";

const row = (id, title = id) => ({ id, title, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" });

test("pages append in the server's order, without repeating a row that moved down a page", () => {
  let state = listRequested(initialList());
  const first = state.generation;
  state = pageLoaded(state, {
    generation: first,
    page: { results: [row("c"), row("b")], next: "/api/conversations?page=2" },
  });
  assert.equal(canLoadMore(state), true);
  state = moreRequested(state);
  assert.equal(canLoadMore(state), false); // one request at a time
  state = pageLoaded(state, { generation: first, page: { results: [row("b"), row("a")], next: null } });
  assert.deepEqual(
    state.items.map((item) => item.id),
    ["c", "b", "a"],
  );
  assert.equal(canLoadMore(state), false);
});

test("an answer to an earlier search is ignored once a new search is asked", () => {
  let state = listRequested(initialList(), { query: "lea" });
  const stale = state.generation;
  state = listRequested(state, { query: "lease" });
  state = pageLoaded(state, { generation: stale, page: { results: [row("wrong")], next: null } });
  assert.deepEqual(state.items, []);
  assert.equal(state.loading, true);
  state = pageLoaded(state, { generation: state.generation, page: { results: [row("right")], next: null } });
  assert.deepEqual(
    state.items.map((item) => item.id),
    ["right"],
  );
  assert.equal(pageFailed(state, { generation: stale, message: "x" }).error, null);
});

test("a failed page stops loading more until asked again", () => {
  let state = listRequested(initialList());
  state = pageLoaded(state, { generation: state.generation, page: { results: [row("a")], next: "/next" } });
  state = pageFailed(moreRequested(state), { generation: state.generation, message: "offline" });
  assert.equal(state.error, "offline");
  assert.equal(canLoadMore(state), false);
});

test("rename and delete edit the list in place", () => {
  let state = pageLoaded(listRequested(initialList()), { generation: 1, page: { results: [row("a"), row("b")] } });
  state = renamed(state, { id: "b", title: "Lease" });
  assert.deepEqual(
    state.items.map((item) => item.title),
    ["a", "Lease"],
  );
  state = removed(state, "a");
  assert.deepEqual(
    state.items.map((item) => item.id),
    ["b"],
  );
});

test("activity moves a conversation to the top, but a search result only updates in place", () => {
  let state = pageLoaded(listRequested(initialList()), { generation: 1, page: { results: [row("a"), row("b")] } });
  state = touched(state, { id: "b", message_count: 4 });
  assert.deepEqual(
    state.items.map((item) => item.id),
    ["b", "a"],
  );
  assert.equal(state.items[0].title, "b"); // fields not in the update are kept
  state = touched(state, row("new"));
  assert.deepEqual(
    state.items.map((item) => item.id),
    ["new", "b", "a"],
  );

  let search = pageLoaded(listRequested(initialList(), { query: "x" }), {
    generation: 1,
    page: { results: [row("a"), row("b")] },
  });
  search = touched(search, { id: "b", title: "B" });
  assert.deepEqual(
    search.items.map((item) => [item.id, item.title]),
    [
      ["a", "a"],
      ["b", "B"],
    ],
  );
  assert.equal(touched(search, row("other")).items.length, 2);
});

test("the search goes into the list's URL, trimmed and encoded", () => {
  assert.equal(listUrl("/api/conversations", "  "), "/api/conversations");
  assert.equal(listUrl("/api/conversations", " rent & lease "), "/api/conversations?search=rent+%26+lease");
});

test("a title is trimmed, one line, not empty and at most 200 characters", () => {
  assert.deepEqual(cleanTitle("  Lease\n talk "), { title: "Lease talk" });
  assert.ok(cleanTitle("   ").error);
  assert.ok(cleanTitle("x".repeat(201)).error);
  assert.deepEqual(cleanTitle("x".repeat(200)), { title: "x".repeat(200) });
});

test("an untitled conversation is named by its start", () => {
  assert.equal(displayTitle({ title: "Rent", created_at: "2026-01-01T00:00:00Z" }), "Rent");
  assert.equal(
    displayTitle({ title: "", created_at: "2026-01-01T00:00:00Z" }, () => "1 Jan"),
    "Conversation of 1 Jan",
  );
});

test("last activity reads as a person would say it", () => {
  const now = Date.parse("2026-03-10T12:00:00Z");
  const at = (seconds) => new Date(now - seconds * 1000).toISOString();
  assert.equal(lastActivity(at(5), now), "just now");
  assert.equal(lastActivity(at(300), now), "5 min ago");
  assert.equal(lastActivity(at(7200), now), "2 h ago");
  assert.equal(lastActivity(at(90000), now), "yesterday");
  assert.equal(lastActivity(at(3 * 86400), now), "3 days ago");
  assert.equal(
    lastActivity(at(30 * 86400), now, () => "8 Feb 2026"),
    "8 Feb 2026",
  );
  assert.equal(lastActivity(at(-60), now), "just now"); // a clock slightly ahead
});

test("the search runs once typing pauses, with the last text", () => {
  const timers = [];
  const calls = [];
  const search = debounced((text) => calls.push(text), 250, {
    setTimer: (fn) => timers.push(fn) && timers.length,
    clearTimer: (id) => {
      if (id) timers[id - 1] = null;
    },
  });
  search("l");
  search("le");
  search("lease");
  for (const fn of timers) fn?.();
  assert.deepEqual(calls, ["lease"]);
});
