"""Status push fan-out: how long a call.status takes from publish to every open socket.

500 sockets (50 users × 10 tabs) spread over two daphne processes sharing Redis; a third
process publishes status changes through the Redis channel layer, as any server process does;
each socket notes when its copy arrives. Goal: p99 ≤ 50 ms on loopback, for status changes at
a steady 100 a second; a burst (every user's call changing at once) is the worst case.
"""

import asyncio
import json
import os
import sys
import time

import aiohttp
from channels_redis.pubsub import RedisPubSubChannelLayer

from bench.harness import app_env, bench_database, daphne, free_port, percentile, redis_answers
from voice.events import user_group_name

USERS = 50
TABS = 10
ROUNDS = 20
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


async def open_sockets(
    ports: list[int], users: list
) -> tuple[aiohttp.ClientSession, list[aiohttp.ClientWebSocketResponse]]:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # no 100-socket cap
    sockets = []
    for n, (_, _, session_key) in enumerate(users * TABS):
        port = ports[n % len(ports)]
        sockets.append(
            await http.ws_connect(
                f"ws://127.0.0.1:{port}/ws/voice",
                headers={
                    "Origin": f"http://127.0.0.1:{port}",
                    "Cookie": f"sessionid={session_key}",
                },
            )
        )
    return http, sockets


async def collect(socket, latencies: list[float], expected: int) -> None:
    for _ in range(expected):
        message = await socket.receive(timeout=30)
        event = json.loads(message.data)
        latencies.append(time.time() - event["call"]["sent_at"])


def status_change(round_: int) -> dict:
    return {"type": "call.status", "call": {"id": f"bench-{round_}", "sent_at": time.time()}}


async def steady(layer, users: list, latencies: list[float]) -> None:
    """One user's call changes every 10 ms (100 changes a second, 10 sockets each)."""
    for round_ in range(ROUNDS):
        for user_id, _, _ in users:
            await layer.group_send(user_group_name(int(user_id)), status_change(round_))
            await asyncio.sleep(0.01)


async def burst(layer, users: list, latencies: list[float]) -> None:
    """Every user's call changes at the same instant: 500 deliveries at once, the worst case."""
    for round_ in range(ROUNDS):
        target = len(latencies) + len(users) * TABS
        await asyncio.gather(
            *(layer.group_send(user_group_name(int(u)), status_change(round_)) for u, _, _ in users)
        )
        while len(latencies) < target:  # noqa: ASYNC110 (the readers only count)
            await asyncio.sleep(0.005)


async def measure(ports: list[int], users: list, publish) -> list[float]:
    layer = RedisPubSubChannelLayer(hosts=[REDIS_URL])
    http, sockets = await open_sockets(ports, users)
    latencies: list[float] = []
    readers = [asyncio.create_task(collect(s, latencies, ROUNDS)) for s in sockets]
    try:
        await publish(layer, users, latencies)
        await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
    finally:
        for socket in sockets:
            await socket.close()
        await http.close()
        await layer.flush()
    return latencies


def report(name: str, latencies: list[float]) -> bool:
    ms = [latency * 1000 for latency in latencies]
    p99 = percentile(ms, 99)
    print(
        f"{name:<44} {len(ms)} deliveries: p50 {percentile(ms, 50):6.1f} ms, "
        f"p90 {percentile(ms, 90):6.1f} ms, p99 {p99:6.1f} ms, max {max(ms):6.1f} ms"
    )
    return p99 <= 50


def main() -> int:
    if not redis_answers(REDIS_URL):
        print(f"Redis does not answer at {REDIS_URL}: the fan-out needs it; nothing measured")
        return 0
    ports = [free_port(), free_port()]
    with bench_database(USERS) as (url, users):
        env = app_env(url, REDIS_URL=REDIS_URL)
        with daphne(ports[0], env), daphne(ports[1], env):
            print(f"== {USERS * TABS} sockets ({USERS} users × {TABS} tabs) on 2 daphne processes")
            ok = report(
                "steady: 100 status changes a second", asyncio.run(measure(ports, users, steady))
            )
            report(
                "burst: all 50 users' calls change at once",
                asyncio.run(measure(ports, users, burst)),
            )
    print(f"goal: p99 ≤ 50 ms in steady use -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
