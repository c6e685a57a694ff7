import assert from "node:assert/strict";
import { test } from "node:test";

import { formatCost, formatMonthSpend, showCallCost } from "../../voice/static/voice/js/call_cost.js";

test("a cost is shown in dollars to at most four decimals", () => {
  assert.equal(formatCost("0.000000"), "Cost: $0.00");
  assert.equal(formatCost("0.012345"), "Cost: $0.0123");
  assert.equal(formatCost("1.500000"), "Cost: $1.50");
  assert.equal(formatCost("0.000040"), "Cost: under $0.0001");
  assert.equal(formatCost(undefined), "");
});

test("the call's cost is fetched and shown, and a failure leaves it hidden", async () => {
  const element = { hidden: true, textContent: "", dataset: {} };
  await showCallCost(element, "c1", async (id) => ({ id, cost: "0.250000" }));
  assert.equal(element.hidden, false);
  assert.equal(element.textContent, "Cost: $0.25");
  assert.equal(element.dataset.callId, "c1");

  await showCallCost(element, "c2", async () => {
    throw new Error("offline");
  });
  assert.equal(element.hidden, true);
});

test("the month's spend is shown against a budget, and only when there is one", () => {
  const budget = { monthly_usd: "5.00", spent_usd: "1.234500", resets_at: "2026-12-01" };
  assert.equal(formatMonthSpend(budget), "This month: $1.2345 of $5.00");
  assert.equal(formatMonthSpend({ ...budget, spent_usd: "0.000000" }), "This month: $0.00 of $5.00");
  assert.equal(formatMonthSpend({ ...budget, monthly_usd: null }), "");
  assert.equal(formatMonthSpend(null), "");
});
