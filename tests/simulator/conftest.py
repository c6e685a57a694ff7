"""Fixtures for the simulator tests: the app running in-process on a free port, an httpx client
with a working key, and WebRTC and sideband clients that are closed after each test."""

import json

import aiohttp
import httpx
import pytest
from aiohttp import web

from simulator.app import create_app
from simulator.sdp import CANNED_ANSWER
from simulator.settings import Settings
from tests.simulator.sim_peer import KEY, SESSION, RealtimeClient, SidebandClient


def fast_settings() -> Settings:
    """Defaults tuned for tests: no artificial latency, a short reply, quick VAD start."""
    return Settings(
        port=0,
        stt_latency_ms=0,
        llm_ttft_ms=0,
        llm_tokens_per_s=2000,
        tts_ttfb_ms=0,
        vad_start_ms=200,
        transcription_delay_ms=400,
        assistant_texts=["Okay, got it."],
    )


class RunningSimulator:
    def __init__(self, app: web.Application, runner: web.AppRunner, base_url: str) -> None:
        self.app = app
        self.runner = runner
        self.base_url = base_url

    def client(self, key: str | None = KEY, **kwargs) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        kwargs.setdefault("timeout", 15)
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, **kwargs)


@pytest.fixture
async def sim():
    app = create_app(fast_settings())
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield RunningSimulator(app, runner, f"http://127.0.0.1:{port}")
    await runner.cleanup()


@pytest.fixture
async def http(sim):
    async with sim.client() as client:
        yield client


@pytest.fixture
async def peers():
    """Makes RealtimeClients and closes them all at the end of the test."""
    made: list[RealtimeClient] = []

    def make() -> RealtimeClient:
        made.append(RealtimeClient())
        return made[-1]

    yield make
    for peer in made:
        await peer.close()


@pytest.fixture
async def sidebands(sim):
    """Joins calls' sidebands like the server's call monitor; closes them all at the end."""
    made: list[SidebandClient] = []
    async with aiohttp.ClientSession() as session:

        async def join(call_id: str, key: str = KEY) -> SidebandClient:
            url = f"{sim.base_url}/v1/realtime?call_id={call_id}"
            ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {key}"})
            made.append(SidebandClient(ws))
            return made[-1]

        yield join
        for sideband in made:
            await sideband.close()


@pytest.fixture
async def canned_call(http):
    """Places canned-SDP calls (no WebRTC peer) with our backend's session; returns call ids."""
    await http.post("/_sim/config", json={"canned_sdp": True})

    async def place(session: dict = SESSION) -> str:
        files = {
            "sdp": (None, CANNED_ANSWER, "application/sdp"),  # any well-formed offer will do
            "session": (None, json.dumps(session), "application/json"),
        }
        response = await http.post("/v1/realtime/calls", files=files)
        assert response.status_code == 201, response.text
        return response.headers["Location"].rsplit("/", 1)[-1]

    return place
