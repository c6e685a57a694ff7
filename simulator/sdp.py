"""SDP checks and the canned answer. aiortc accepts almost any text as an offer, so the
simulator checks the parts a real answerer needs before it builds a peer."""

REQUIRED_ATTRIBUTES = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:")

# A fixed answer in the shape OpenAI returns (Opus/PCMU/PCMA audio plus a data channel, host
# candidates on UDP 3478 and passive TCP 443, setup:active) for --canned-sdp, which measures a
# proxy's own overhead. No peer stands behind it, so ICE never completes.
CANNED_ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 6335745384339127203 1732406400 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic:WMS *",
        "m=audio 3478 UDP/TLS/RTP/SAVPF 111 0 8",
        "c=IN IP4 127.0.0.1",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 3478 typ host",
        "a=candidate:2 1 tcp 1671430143 127.0.0.1 443 typ host tcptype passive",
        "a=end-of-candidates",
        "a=ice-ufrag:SimCannedUfrag1",
        "a=ice-pwd:SimulatorCannedIcePassword01",
        "a=fingerprint:sha-256 "
        "9E:2B:5A:05:8D:8C:1A:6E:33:77:12:0A:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD",
        "a=setup:active",
        "a=mid:0",
        "a=sendrecv",
        "a=msid:canned canned-audio",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=ssrc:3372460347 cname:simulator",
        "m=application 3478 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 127.0.0.1",
        "a=ice-ufrag:SimCannedUfrag1",
        "a=ice-pwd:SimulatorCannedIcePassword01",
        "a=fingerprint:sha-256 "
        "9E:2B:5A:05:8D:8C:1A:6E:33:77:12:0A:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD",
        "a=setup:active",
        "a=mid:1",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "",
    ]
)


def offer_problem(sdp: str) -> str | None:
    """Why ``sdp`` cannot be answered, or None when it looks like a usable offer."""
    lines = [line.strip() for line in sdp.strip().splitlines()]
    if not lines or lines[0] != "v=0":
        return "the offer does not start with v=0"
    if not any(line.startswith(("m=audio", "m=application")) for line in lines):
        return "the offer has no audio or data channel media section"
    for attribute in REQUIRED_ATTRIBUTES:
        if not any(line.startswith(attribute) for line in lines):
            return f"the offer has no {attribute.removeprefix('a=').rstrip(':')} attribute"
    return None
