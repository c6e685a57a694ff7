// What the ended call cost, in the call bar (`call-cost`). The server prices the call's usage
// (GET /api/calls/<id> → "cost", USD as a decimal string); this only shows it.

const USD = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 4, // a short call costs fractions of a cent
});

/** @param {string | number | null | undefined} cost USD as a decimal string @returns {string} */
export function formatCost(cost) {
  const amount = Number(cost);
  if (!Number.isFinite(amount)) return "";
  if (amount > 0 && amount < 0.0001) return "Cost: under $0.0001";
  return `Cost: ${USD.format(amount)}`;
}

// `fetchCall(id)` answers the call's detail; a failure leaves the cost hidden (it is a courtesy,
// not part of the call).
/**
 * @param {HTMLElement} element
 * @param {string} callId
 * @param {(id: string) => Promise<{ cost?: string | null }>} fetchCall
 */
export async function showCallCost(element, callId, fetchCall) {
  element.hidden = true;
  const call = await fetchCall(callId).catch(() => null);
  const text = call ? formatCost(call.cost) : "";
  if (!text) return;
  element.textContent = text;
  element.dataset.callId = callId;
  element.hidden = false;
}

// This month's spend of the server's key against the user's budget, in the top bar
// (`month-spend`): shown only when a budget applies (GET /api/voice/usage → "budget").
/** @typedef {{ monthly_usd?: string | null, spent_usd?: string, resets_at?: string }} Budget */

/** @param {Budget | null | undefined} budget @returns {string} */
export function formatMonthSpend(budget) {
  if (!budget || budget.monthly_usd == null) return "";
  const spent = Number(budget.spent_usd);
  const limit = Number(budget.monthly_usd);
  if (!Number.isFinite(spent) || !Number.isFinite(limit)) return "";
  return `This month: ${USD.format(spent)} of ${USD.format(limit)}`;
}

/** @param {HTMLElement} element @param {() => Promise<{ budget?: Budget | null }>} fetchUsage */
export async function showMonthSpend(element, fetchUsage) {
  const usage = await fetchUsage().catch(() => null);
  const text = usage ? formatMonthSpend(usage.budget) : "";
  element.textContent = text;
  element.hidden = !text;
  if (text) element.title = `Resets on ${usage?.budget?.resets_at} (UTC)`; // text means both are there
}
