"""How much POST /api/realtime/session adds to the upstream call, and how it scales.

1. Overhead: 300 sequential offers through daphne (token auth, raw SDP form, each user paying
   with an OpenAI key of their own: the realistic path) and 300 straight to the simulator in
   canned-answer mode, interleaved; goal: p50 added ≤ 5 ms. Beside it, the server process's
   CPU time per start (user + system, from /proc); goal: ≤ 6 ms.
2. Concurrency: 200 users start a call at once while the simulator answers after 500 ms;
   goal: all done within 1.5 × 500 ms on this 2-core machine.
"""

import asyncio
import sys
import time

import httpx

from bench.harness import (
    app_env,
    bench_database,
    cpu_seconds,
    daphne,
    databases,
    describe,
    free_port,
    percentile,
    simulator,
)

SEQUENTIAL = 300
WARM_UP = 10
CPU_GOAL_MS = 6.0
CONCURRENT = 200
UPSTREAM_LATENCY_S = 0.5
SERVER_KEY = "sk-bench-server-key-000000000000"
# A browser-like offer: the canned simulator answers without parsing beyond the basics.
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n"
)


async def post_offer(client: httpx.AsyncClient, url: str, authorization: str) -> float:
    """Seconds until the offer's 201 answer."""
    began = time.perf_counter()
    response = await client.post(
        url,
        content=OFFER,
        headers={"Content-Type": "application/sdp", "Authorization": authorization},
    )
    elapsed = time.perf_counter() - began
    if response.status_code != 201:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed


def start_call(client: httpx.AsyncClient, app: str, token: str):
    return post_offer(client, f"{app}/api/realtime/session", f"Token {token}")


def direct_call(client: httpx.AsyncClient, sim: str):
    return post_offer(client, f"{sim}/v1/realtime/calls", f"Bearer {SERVER_KEY}")


async def overhead(app: str, sim: str, tokens: list[str], server_pid: int) -> bool:
    """`tokens`' first WARM_UP users warm the server up (imports, connections, caches)."""
    proxied, direct = [], []
    async with httpx.AsyncClient(timeout=30) as client:
        for token in tokens[:WARM_UP]:  # one start per user: each keeps its one live call
            await direct_call(client, sim)
            await start_call(client, app, token)
        measured = tokens[WARM_UP:]
        cpu_before = cpu_seconds(server_pid)
        for token in measured:
            direct.append(await direct_call(client, sim))
            proxied.append(await start_call(client, app, token))
        cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / len(measured)
    added_p50 = (percentile(proxied, 50) - percentile(direct, 50)) * 1000
    added_p99 = (percentile(proxied, 99) - percentile(direct, 99)) * 1000
    print(describe("straight to the simulator", direct))
    print(describe("through /api/realtime/session", proxied))
    print(
        f"added by the proxy: p50 {added_p50:.2f} ms, p99 {added_p99:.2f} ms; "
        f"ratio p50 {percentile(proxied, 50) / percentile(direct, 50):.2f}× "
        f"(goal: p50 added ≤ 5 ms) -> {'OK' if added_p50 <= 5 else 'MISSED'}"
    )
    print(
        f"server CPU per start: {cpu_ms:.2f} ms (goal ≤ {CPU_GOAL_MS:.0f} ms) -> "
        f"{'OK' if cpu_ms <= CPU_GOAL_MS else 'MISSED'}"
    )
    return added_p50 <= 5 and cpu_ms <= CPU_GOAL_MS


async def concurrency(app: str, tokens: list[str]) -> bool:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        began = time.perf_counter()
        latencies = await asyncio.gather(*(start_call(client, app, t) for t in tokens))
        wall = time.perf_counter() - began
    ratio = wall / UPSTREAM_LATENCY_S
    print(describe(f"{CONCURRENT} starts at once (500 ms upstream)", latencies))
    print(
        f"all {CONCURRENT} done in {wall * 1000:.0f} ms = {ratio:.2f} × the upstream latency "
        f"(goal ≤ 1.50) -> {'OK' if ratio <= 1.5 else 'MISSED'}"
    )
    return ratio <= 1.5


def measure(database: str, postgres_url: str | None) -> bool:
    sim_port, app_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    app = f"http://127.0.0.1:{app_port}"
    sequential = WARM_UP + SEQUENTIAL
    seeded = bench_database(sequential + CONCURRENT, postgres_url=postgres_url, own_keys=True)
    with seeded as (url, users):
        tokens = [token for _, token, _ in users]
        env = app_env(url, OPENAI_BASE_URL=f"{sim}/v1", OPENAI_API_KEY=SERVER_KEY)
        with simulator(sim_port, "--canned-sdp"), daphne(app_port, env) as server:
            print(f"== {database}: overhead, {SEQUENTIAL} sequential starts, proxied vs direct")
            ok = asyncio.run(overhead(app, sim, tokens[:sequential], server.pid))
            httpx.post(f"{sim}/_sim/config", json={"latency_ms": UPSTREAM_LATENCY_S * 1000})
            print(f"== {database}: concurrency, {CONCURRENT} users start at once")
            return asyncio.run(concurrency(app, tokens[sequential:])) and ok


def main() -> int:
    results = [measure(name, url) for name, url in databases()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
