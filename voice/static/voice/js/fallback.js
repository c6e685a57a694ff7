// Whether a failed Realtime call should offer Legacy mode instead. Legacy needs neither WebRTC
// nor a Realtime session: only our server, the microphone and a key. So it helps when the
// media path or the Realtime service failed, and not when the cause is one Legacy shares
// (a rejected key, the microphone, one live call per user, our server out of reach).

const LEGACY_HELPS = new Set([
  "realtime_unavailable", // turned off by the administrator since the page loaded
  "ice_failed", // WebRTC blocked on this network
  "disconnected",
  "channel_closed",
  "connect_timeout",
  "invalid_sdp", // this browser's offer was refused
  "upstream_error", // the Realtime service is failing
  "upstream_timeout",
]);

/** @param {{ mode: string, code: string, legacyAvailable: boolean }} failure @returns {boolean} */
export function offerLegacy({ mode, code, legacyAvailable }) {
  return mode === "realtime" && legacyAvailable && LEGACY_HELPS.has(code);
}
