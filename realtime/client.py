"""OpenAI Realtime call endpoints (docs/openai-realtime.md §1, §3) on top of the shared upstream
client."""

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from voice import upstream
from voice.errors import ErrorCode, VoiceError


@dataclass(frozen=True)
class CreatedCall:
    answer_sdp: str
    call_id: str  # "rtc_…", from the Location header: needed for hangup and the sideband


async def calls_create(*, api_key: str, offer_sdp: str, session: dict[str, Any]) -> CreatedCall:
    """POST the browser's offer and our session config; no retry, creation is not idempotent."""
    files = {
        "sdp": (None, offer_sdp, "application/sdp"),
        "session": (None, json.dumps(session), "application/json"),
    }
    response = await upstream.request(
        "POST", "/realtime/calls", api_key=api_key, files=files, ok_statuses=(400,)
    )
    if response.status_code == 400:
        raise _refused(response)
    call_id = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
    # Checked here: handing a browser a non-SDP body ends in an opaque "Failed to parse".
    if not call_id or not response.text.startswith("v=0"):
        raise upstream.upstream_error("OpenAI answered without a usable call. Try again.")
    return CreatedCall(answer_sdp=response.text, call_id=call_id)


def _refused(response: httpx.Response) -> VoiceError:
    """A 400 about the offer is the browser's SDP (400 invalid_sdp, with OpenAI's reason);
    any other 400 is about our session config: the server's problem (502)."""
    param = upstream.error_field(response, "param")
    message = upstream.error_field(response, "message")
    if param == "sdp" or re.search(r"\b(sdp|offer)\b", message, re.IGNORECASE):
        reason = upstream.redact(message) or "OpenAI could not use the SDP offer."
        return VoiceError(f"OpenAI refused the SDP offer: {reason}", code=ErrorCode.INVALID_SDP)
    return upstream.error_for_response(response, "POST /realtime/calls")


async def calls_hangup(*, api_key: str, call_id: str) -> bool:
    """Hang the call up; False when OpenAI no longer knows it (it had already ended)."""
    response = await upstream.request(
        "POST", f"/realtime/calls/{call_id}/hangup", api_key=api_key, ok_statuses=(404,)
    )
    return response.status_code != 404
