import asyncio

import pytest
from aiortc import RTCPeerConnection


async def _browser_like_offer() -> str:
    """An offer shaped like a browser's: an audio track and the `oai-events` data channel."""
    peer = RTCPeerConnection()
    try:
        peer.addTransceiver("audio", direction="sendrecv")
        peer.createDataChannel("oai-events")
        await peer.setLocalDescription(await peer.createOffer())
        return peer.localDescription.sdp
    finally:
        await peer.close()


@pytest.fixture(scope="session")
def offer_sdp() -> str:
    return asyncio.run(_browser_like_offer())
