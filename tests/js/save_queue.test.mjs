import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_BATCH_ITEMS, SaveQueue } from "../../static/js/save_queue.js";

test("items are sent, and a failed send is retried until it succeeds", async () => {
  const sent = [];
  let failures = 2;
  const delays = [];
  const queue = new SaveQueue({
    send: async (items) => {
      if (failures-- > 0) throw new Error("network");
      sent.push(...items.map((i) => i.item_id));
    },
    sleep: async (ms) => delays.push(ms),
  });
  queue.push({ item_id: "a", text: "1" });
  await queue.flush();
  assert.deepEqual(sent, ["a"]);
  assert.deepEqual(delays, [500, 1000]);
  assert.equal(queue.size, 0);
});

test("a newer version of an unsent item replaces the older one", async () => {
  const batches = [];
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const queue = new SaveQueue({
    send: async (items) => {
      batches.push(items.map((i) => `${i.item_id}:${i.text}`));
      if (batches.length === 1) await gate;
    },
    sleep: async () => {},
  });
  queue.push({ item_id: "a", text: "first" });
  queue.push({ item_id: "b", text: "one" });
  queue.push({ item_id: "b", text: "two" });
  release();
  await queue.flush();
  assert.deepEqual(batches, [["a:first"], ["b:two"]]);
});

test("a permanent refusal is dropped, not retried forever", async () => {
  let calls = 0;
  const queue = new SaveQueue({
    send: async () => {
      calls += 1;
      throw Object.assign(new Error("gone"), { permanent: true });
    },
    sleep: async () => {},
  });
  queue.push({ item_id: "a" }).catch(() => {});
  await queue.flush();
  assert.equal(calls, 1);
  assert.equal(queue.size, 0);
});

test("the backoff is capped", async () => {
  const delays = [];
  let failures = 8;
  const queue = new SaveQueue({
    send: async () => {
      if (failures-- > 0) throw new Error("x");
    },
    sleep: async (ms) => delays.push(ms),
    maxDelayMs: 3000,
  });
  queue.push({ item_id: "a" });
  await queue.flush();
  assert.equal(Math.max(...delays), 3000);
});

test("each retry is reported before its wait, with the error and the delay", async () => {
  const events = [];
  let failures = 2;
  const queue = new SaveQueue({
    send: async () => {
      events.push("send");
      if (failures-- > 0) throw new Error(`down ${failures}`);
    },
    sleep: async (ms) => events.push(`sleep ${ms}`),
    onRetry: (error, delayMs) => events.push(`retry ${error.message} ${delayMs}`),
  });
  queue.push({ item_id: "a" });
  await queue.flush();
  assert.deepEqual(events, [
    "send",
    "retry down 1 500",
    "sleep 500",
    "send",
    "retry down 0 1000",
    "sleep 1000",
    "send",
  ]);
});

test("a backlog is sent in batches the server accepts, in order", async () => {
  const sizes = [];
  const sent = [];
  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  const queue = new SaveQueue({
    send: async (items) => {
      await gate; // the backlog builds up while the first request is out
      sizes.push(items.length);
      sent.push(...items.map((i) => i.item_id));
    },
  });
  for (let n = 0; n < 120; n += 1) queue.push({ item_id: `i${n}`, text: "x" });
  release();
  await queue.flush();
  assert.ok(
    sizes.every((size) => size <= MAX_BATCH_ITEMS),
    String(sizes),
  );
  assert.deepEqual(
    sent,
    Array.from({ length: 120 }, (_, n) => `i${n}`),
  );
});
