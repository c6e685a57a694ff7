"""OpenAI Realtime call endpoints (reference §1, §3) on top of the shared upstream client."""

import json
from dataclasses import dataclass

from voice import upstream


@dataclass(frozen=True)
class CreatedCall:
    answer_sdp: str
    call_id: str  # "rtc_…", from the Location header: needed for hangup and the sideband


async def calls_create(*, api_key: str, offer_sdp: str, session: dict) -> CreatedCall:
    """POST the browser's offer and our session config; no retry, creation is not idempotent."""
    files = {
        "sdp": (None, offer_sdp, "application/sdp"),
        "session": (None, json.dumps(session), "application/json"),
    }
    response = await upstream.request("POST", "/realtime/calls", api_key=api_key, files=files)
    call_id = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
    # Checked here: handing a browser a non-SDP body ends in an opaque "Failed to parse".
    if not call_id or not response.text.startswith("v=0"):
        raise upstream.upstream_error("OpenAI answered without a usable call. Try again.")
    return CreatedCall(answer_sdp=response.text, call_id=call_id)


async def calls_hangup(*, api_key: str, call_id: str) -> bool:
    """Hang the call up; False when OpenAI no longer knows it (it had already ended)."""
    response = await upstream.request(
        "POST", f"/realtime/calls/{call_id}/hangup", api_key=api_key, ok_statuses=(404,)
    )
    return response.status_code != 404
