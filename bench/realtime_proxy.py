"""How much POST /api/realtime/session adds to the upstream call, and how it scales.

1. Overhead: 300 sequential offers through daphne (token auth, raw SDP form, each user paying
   with an OpenAI key of their own: the realistic path) and 300 straight to the simulator in
   canned-answer mode, interleaved; goal: p50 added ≤ 5 ms. Beside it, the server process's
   CPU time per start (user + system, from /proc); goal: ≤ 6 ms.
2. Concurrency: 200 users start a call at once while the simulator answers after 500 ms, on
   one server process and on two (the production command, scripts/serve-production, with
   2 workers); goals: all done within 4 × 500 ms on one process and 3 × on two, on this 2-core
   machine (the floor is 500 ms + 200 × CPU per start ÷ cores).

`--server daphne|granian` runs the same rows under another ASGI server, to compare (daphne
runs one process per port, so its two-process row is left out).
"""

import argparse
import asyncio
import sys
import time

import httpx

from bench.harness import (
    SERVERS,
    app_env,
    asgi_server,
    bench_database,
    databases,
    describe,
    free_port,
    percentile,
    simulator,
    tree_cpu_seconds,
)

SEQUENTIAL = 300
WARM_UP = 10
CPU_GOAL_MS = 6.0
CONCURRENT = 200
UPSTREAM_LATENCY_S = 0.5
# Wall time of the 200 starts as a multiple of the upstream latency, by server processes.
CONCURRENCY_GOALS = {1: 4.0, 2: 3.0}
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
        cpu_before = tree_cpu_seconds(server_pid)
        for token in measured:
            direct.append(await direct_call(client, sim))
            proxied.append(await start_call(client, app, token))
        cpu_ms = (tree_cpu_seconds(server_pid) - cpu_before) * 1000 / len(measured)
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


async def starts_at_once(app: str, tokens: list[str]) -> tuple[float, list[float]]:
    """Every user in `tokens` starts a call at the same moment: (wall seconds, latencies)."""
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        began = time.perf_counter()
        latencies = await asyncio.gather(*(start_call(client, app, t) for t in tokens))
        return time.perf_counter() - began, latencies


async def concurrency(app: str, tokens: list[str], processes: int, server_pid: int) -> bool:
    """`tokens`' first WARM_UP users warm every worker up; the rest start at once."""
    await starts_at_once(app, tokens[:WARM_UP])
    cpu_before = tree_cpu_seconds(server_pid)
    wall, latencies = await starts_at_once(app, tokens[WARM_UP:])
    cpu_ms = (tree_cpu_seconds(server_pid) - cpu_before) * 1000 / len(latencies)
    ratio, goal = wall / UPSTREAM_LATENCY_S, CONCURRENCY_GOALS[processes]
    print(describe(f"{len(latencies)} starts at once, {processes} process(es)", latencies))
    print(
        f"all {len(latencies)} done in {wall * 1000:.0f} ms = {ratio:.2f} × the upstream latency "
        f"(goal ≤ {goal:.0f} × on {processes} process(es)) -> {'OK' if ratio <= goal else 'MISSED'}"
        f"; server CPU {cpu_ms:.2f} ms per start"
    )
    return ratio <= goal


def measure(server: str, database: str, postgres_url: str | None) -> bool:
    sim_port, app_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    app = f"http://127.0.0.1:{app_port}"
    sequential = WARM_UP + SEQUENTIAL
    process_counts = [1] if server == "daphne" else list(CONCURRENCY_GOALS)
    at_once = WARM_UP + CONCURRENT  # per concurrency row: each user keeps its one live call
    users_needed = sequential + at_once * len(process_counts)
    seeded = bench_database(users_needed, postgres_url=postgres_url, own_keys=True)
    with seeded as (url, users), simulator(sim_port, "--canned-sdp"):
        tokens = [token for _, token, _ in users]
        env = app_env(url, OPENAI_BASE_URL=f"{sim}/v1", OPENAI_API_KEY=SERVER_KEY)
        with asgi_server(server, app_port, env) as process:
            print(f"== {database}, {server}: overhead, {SEQUENTIAL} sequential starts")
            ok = asyncio.run(overhead(app, sim, tokens[:sequential], process.pid))
        httpx.post(f"{sim}/_sim/config", json={"latency_ms": UPSTREAM_LATENCY_S * 1000})
        for n, processes in enumerate(process_counts):
            batch = tokens[sequential + n * at_once : sequential + (n + 1) * at_once]
            with asgi_server(server, app_port, env, workers=processes) as process:
                print(f"== {database}, {server}: {CONCURRENT} users start at once")
                ok = asyncio.run(concurrency(app, batch, processes, process.pid)) and ok
        return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--server", choices=SERVERS, default="uvicorn")
    server = parser.parse_args().server
    results = [measure(server, name, url) for name, url in databases()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
