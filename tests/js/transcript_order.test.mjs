import assert from "node:assert/strict";
import { test } from "node:test";

import { orderItems } from "../../static/js/transcript_order.js";

const ids = (items) => orderItems(items).map((item) => item.item_id);

test("arrival order when nothing links items", () => {
  assert.deepEqual(ids([{ item_id: "a" }, { item_id: "b" }, { item_id: "c" }]), ["a", "b", "c"]);
});

test("a user item that arrives after its reply is placed before it", () => {
  const items = [
    { item_id: "u1" },
    { item_id: "a1", previous_item_id: "u1" },
    { item_id: "a2", previous_item_id: "u2" },
    { item_id: "u2", previous_item_id: "a1" },
  ];
  assert.deepEqual(ids(items), ["u1", "a1", "u2", "a2"]);
});

test("a previous id that is not here (an earlier call) is ignored", () => {
  assert.deepEqual(ids([{ item_id: "x", previous_item_id: "gone" }, { item_id: "y" }]), ["x", "y"]);
});

test("a cycle still lists every item once", () => {
  const items = [
    { item_id: "x", previous_item_id: "y" },
    { item_id: "y", previous_item_id: "x" },
  ];
  assert.deepEqual(ids(items).sort(), ["x", "y"]);
});
