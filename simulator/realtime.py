"""Realtime calls over WebRTC: ``POST /v1/realtime/calls`` answers with a real aiortc peer,
``/hangup`` ends it, and the ``/v1/realtime?call_id=`` websocket is its sideband.

A ``Call`` owns the peer connection, the ``oai-events`` data channel, the microphone reader and
the sidebands; what happens in the conversation is ``conversation.py``'s business. Every event
goes to the data channel and each sideband in the same order, except ``session.created``,
which opens each connection for that connection alone. A canned call has no peer: it is driven
by ``/_sim/calls/{id}/turn`` (``control.py``) and its sidebands.
"""

import asyncio
import contextlib
import json
import secrets
import time

import aioice.ice
from aiohttp import WSCloseCode, WSMsgType, web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from . import client_events, sessions
from .audio import frame_rms
from .conversation import Conversation
from .errors import bad_request, error_response
from .faults import SETTINGS
from .items import session_summary
from .recording import BODY, UploadedFile
from .sdp import CANNED_ANSWER, offer_problem
from .settings import Settings
from .tracks import ClockOutput, ResponseAudioTrack

EVENT_LOG_LIMIT = 2000  # event types kept per call for /_sim/calls


def _ensure_ice_host_candidates() -> None:
    """aioice skips loopback addresses, so on a host with only ``lo`` (a CI sandbox,
    ``docker --network none``) there would be no candidate at all; offer 127.0.0.1 there."""
    if not aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True):
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Sideband:
    """One sideband websocket. A queue keeps events in order without blocking ``emit``; closing
    sends whatever is queued first, so a monitor sees a call's final events before the close."""

    CLOSE_FLUSH_S = 5.0  # how long a slow reader may hold up the close of an ended call

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.pump = asyncio.get_running_loop().create_task(self._pump())

    def send(self, text: str) -> None:
        self.queue.put_nowait(text)

    async def _pump(self) -> None:
        while (text := await self.queue.get()) is not None:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionResetError):
                await self.ws.send_str(text)

    async def close(self, reason: str) -> None:
        self.queue.put_nowait(None)
        await asyncio.wait({self.pump}, timeout=self.CLOSE_FLUSH_S)
        await self.ws.close(code=WSCloseCode.OK, message=reason.encode())

    async def stop(self) -> None:
        self.pump.cancel()
        await asyncio.wait({self.pump})

    async def drop(self) -> None:
        """A network blip: the socket goes away abnormally (1011) while the call goes on."""
        self.pump.cancel()
        await self.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"dropped")


class Call:
    def __init__(self, *, settings: Settings, session: dict, canned: bool = False) -> None:
        self.id = f"rtc_{secrets.token_hex(16)}"
        self.settings = settings
        self.canned = canned
        self.created_at = time.time()
        self.state = "open"
        self.hung_up = False
        self.end_reason: str | None = None
        self.pc: RTCPeerConnection | None = None
        self.channel = None
        self.sidebands: list[Sideband] = []
        self.sideband_joins = 0
        # A canned call has no peer to pull audio frames: its replies play on the clock.
        self.track = ClockOutput() if canned else ResponseAudioTrack()
        self.events_sent: list[str] = []
        self.client_events: list[str] = []
        self.mic = {"frames": 0, "max_rms": 0.0}
        self._client_queue: asyncio.Queue[str] = asyncio.Queue()
        self._ending: asyncio.Task | None = None
        self.conversation = Conversation(
            session=session, settings=settings, emit=self.emit, track=self.track
        )

    # --- events out ---------------------------------------------------------------------------

    def _event(self, type_: str, fields: dict) -> str:
        event = {"type": type_, "event_id": f"event_{secrets.token_hex(11)}", **fields}
        if len(self.events_sent) < EVENT_LOG_LIMIT:
            self.events_sent.append(type_)
        return json.dumps(event)

    def emit(self, type_: str, **fields) -> None:
        """Send an event to every connection of the call, in the same order on each."""
        text = self._event(type_, fields)
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)
        for sideband in self.sidebands:
            sideband.send(text)

    def _session_created(self) -> str:
        # session.created opens each connection (OpenAI: "emitted automatically when a new
        # connection is established as the first server event"), so it goes to that one only.
        return self._event("session.created", {"session": self.conversation.session})

    # --- the peer -----------------------------------------------------------------------------

    def start(self) -> None:
        """Serve client events (data channel and sidebands) and start the session's clock."""
        self.conversation.spawn(self._serve_client_events())
        self.conversation.spawn(self._expire_when_due())

    async def answer(self, offer_sdp: str) -> str:
        _ensure_ice_host_candidates()
        self.pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no Google STUN
        pc.on("datachannel", self._on_datachannel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_connection_state)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        pc.addTrack(self.track)
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _on_datachannel(self, channel) -> None:
        self.channel = channel
        channel.on("message", self._client_queue.put_nowait)
        if channel.readyState == "open":
            self._greet()
        else:
            channel.on("open", self._greet)

    def _greet(self) -> None:
        self.channel.send(self._session_created())

    def _on_track(self, track) -> None:
        if track.kind == "audio":
            self.conversation.spawn(self._read_mic(track))

    async def _on_connection_state(self) -> None:
        if self.pc is not None and self.pc.connectionState in ("failed", "closed"):
            await self.close(reason="peer connection closed")

    async def _read_mic(self, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            rms = frame_rms(frame)
            self.mic["frames"] += 1
            self.mic["max_rms"] = max(self.mic["max_rms"], rms)
            await self.conversation.on_mic_frame(rms, frame.samples / frame.sample_rate * 1000)

    async def _serve_client_events(self) -> None:
        """One at a time, in arrival order: ``item.create`` must land before ``response.create``."""
        while True:
            raw = await self._client_queue.get()
            self.client_events.append(await client_events.handle(self.conversation, raw))

    def accept_client_event(self, raw: str) -> None:
        self._client_queue.put_nowait(raw)

    def join(self, ws: web.WebSocketResponse) -> Sideband:
        """Attach a sideband: its own session.created first, then every event of the call."""
        sideband = Sideband(ws)
        sideband.send(self._session_created())
        self.sidebands.append(sideband)
        self.sideband_joins += 1
        return sideband

    async def drop_sidebands(self) -> int:
        """Drop every sideband as a network failure would, the call itself going on."""
        dropped, self.sidebands = self.sidebands, []
        await asyncio.gather(*(sideband.drop() for sideband in dropped))
        return len(dropped)

    # --- the end --------------------------------------------------------------------------------

    async def _expire_when_due(self) -> None:
        await asyncio.sleep(self.settings.max_session_s)
        # close() cancels this task, so the ending runs in a task of its own.
        self._ending = asyncio.get_running_loop().create_task(self.expire())

    async def expire(self) -> None:
        """End the call the way OpenAI's maximum session length does."""
        minutes = self.settings.max_session_s / 60
        message = f"Your session hit the maximum duration of {minutes:g} minutes."
        error = {
            "type": "invalid_request_error",
            "code": "session_expired",
            "message": message,
            "param": None,
            "event_id": None,
        }
        self.emit("error", error=error)
        await self.close(reason="session expired")

    async def close(self, *, hung_up: bool = False, reason: str = "call ended") -> None:
        self.hung_up = self.hung_up or hung_up
        if self.state == "closed":
            return
        self.state = "closed"
        self.end_reason = reason
        await self.conversation.close()
        self.track.stop()
        if self.pc is not None:
            await self.pc.close()
        sidebands, self.sidebands = self.sidebands, []
        await asyncio.gather(*(sideband.close(reason) for sideband in sidebands))

    def describe(self) -> dict:
        conversation = self.conversation
        return {
            "id": self.id,
            "state": self.state,
            "hung_up": self.hung_up,
            "end_reason": self.end_reason,
            "canned": self.canned,
            "created_at": self.created_at,
            "connection_state": self.pc.connectionState if self.pc else None,
            "data_channel": self.channel.label if self.channel else None,
            "sidebands": len(self.sidebands),
            "sideband_joins": self.sideband_joins,
            "session": session_summary(conversation.session),
            "events_sent": len(self.events_sent),
            "event_types": self.events_sent,
            "client_events": self.client_events,
            "mic_frames": self.mic["frames"],
            "mic_max_rms": round(self.mic["max_rms"], 1),
            "mic_voiced_ms": round(conversation.mic_voiced_ms),
            "speech": conversation.speech_segments,
            "items": [entry.describe() for entry in conversation.history],
            "responses": {run.id: run.status for run in conversation.responses.values()},
            "replies": [run.describe() for run in conversation.responses.values()],
        }


class CallRegistry:
    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}

    def add(self, call: Call) -> None:
        self.calls[call.id] = call

    def open_call(self, call_id: str) -> Call | None:
        call = self.calls.get(call_id)
        return call if call is not None and call.state != "closed" else None

    async def close_all(self) -> None:
        for call in list(self.calls.values()):
            await call.close()


CALLS = web.AppKey("calls", CallRegistry)


# --- HTTP --------------------------------------------------------------------------------------


def _text_field(value) -> str:
    return (
        value.data.decode("utf-8", errors="replace") if isinstance(value, UploadedFile) else value
    )


def _read_offer(request: web.Request) -> tuple[str, dict | None]:
    """The offer and optional session, from multipart ``sdp``/``session`` or a raw SDP body."""
    body = request[BODY]
    if request.content_type == "multipart/form-data":
        if "sdp" not in body.form:
            raise _OfferError("Missing required parameter: 'sdp'.", "sdp")
        session = None
        if "session" in body.form:
            try:
                session = json.loads(_text_field(body.form["session"]))
            except ValueError:
                raise _OfferError("Invalid JSON in 'session'.", "session") from None
            sessions.validate_type(session)
        return _text_field(body.form["sdp"]), session
    if request.content_type == "application/sdp":
        return body.raw.decode("utf-8", errors="replace"), None
    raise _OfferError(
        "Unsupported content type: expected multipart/form-data or application/sdp.", None
    )


class _OfferError(ValueError):
    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


async def create_call(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        offer, requested = _read_offer(request)
    except sessions.SessionError as exc:
        return bad_request(str(exc), param=exc.param, code=exc.code)
    except _OfferError as exc:
        return bad_request(str(exc), param=exc.param)
    problem = offer_problem(offer)
    if problem:
        return bad_request(f"Invalid SDP offer: {problem}.", param="sdp", code="invalid_offer")
    await asyncio.sleep(settings.latency_ms / 1000)
    session = sessions.create_session(requested, max_session_s=settings.max_session_s)
    call = Call(settings=settings, session=session, canned=settings.canned_sdp)
    answer = CANNED_ANSWER if call.canned else await _answer(call, offer)
    if answer is None:
        return bad_request(
            "Invalid SDP offer: it could not be negotiated.", param="sdp", code="invalid_offer"
        )
    call.start()
    request.app[CALLS].add(call)
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{call.id}"},
    )


async def _answer(call: Call, offer: str) -> str | None:
    try:
        return await call.answer(offer)
    except ValueError:
        await call.close()
        return None


def _call_not_found(call_id: str) -> web.Response:
    return error_response(
        404, f"Call '{call_id}' not found.", code="call_not_found", param="call_id"
    )


async def hangup(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    call = request.app[CALLS].open_call(call_id)
    if call is None:
        return _call_not_found(call_id)
    await call.close(hung_up=True, reason="hung up")
    return web.Response(status=200)


async def sideband(request: web.Request) -> web.StreamResponse:
    call_id = request.query.get("call_id")
    if not call_id:
        return bad_request(
            "This simulator serves only sideband websockets: pass ?call_id=rtc_...",
            param="call_id",
        )
    call = request.app[CALLS].open_call(call_id)
    if call is None:
        return _call_not_found(call_id)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    band = call.join(ws)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                call.accept_client_event(message.data)
    finally:
        with contextlib.suppress(ValueError):  # close() may have let it go already
            call.sidebands.remove(band)
        await band.stop()
    return ws
