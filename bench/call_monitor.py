"""How quickly and cheaply one call monitor worker watches many Realtime calls.

300 calls are started through daphne (20 at a time) against the simulator in canned-answer mode
(no WebRTC peer) and marked active, while one `manage.py voice_monitor` process watches them all.

1. Sideband-join latency: from the simulator's answer (its call's creation) to the worker's
   sideband request for that call, both on the simulator's clock; goal p99 ≤ 300 ms where starts
   wake the worker (Redis). The embedded default (SQLite, in-memory layer) is sweep-bound and
   printed for reference.
2. CPU ms per call-minute: the worker's CPU time while it holds the 300 calls for HOLD_S.
   Canned calls are quiet (the simulator sends them no events), so this is the cost of holding
   a call: leases, sweeps, keepalive pings; the events of a conversation come on top.
3. Resident memory per watched call: the worker's RSS with 300 calls minus its idle RSS.
4. A conversation turn on every call at once (the simulator's scripted turn: speech, reply,
   usage, the late transcription, about 30 events): the worker's CPU ms per turn, with its two
   items saved and its cost recorded, and how long after the last turn every item was saved.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from bench.harness import (
    PY,
    ROOT,
    app_env,
    bench_database,
    daphne,
    databases,
    free_port,
    percentile,
    redis_answers,
    simulator,
)
from bench.realtime_proxy import OFFER, SERVER_KEY

CALLS = 300
IN_FLIGHT = 20
HOLD_S = 30.0
JOIN_GOAL_MS = 300.0
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):  # noqa: SIM115
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def worker(env: dict):
    proc = subprocess.Popen(
        [PY, "manage.py", "voice_monitor", "--worker-id", "bench"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if "Call monitor" not in proc.stdout.readline():
            raise RuntimeError("the call monitor did not start")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def start_calls(app: str, tokens: list[str]) -> list[tuple[str, str]]:
    """Start a call for each token; (token, call URL) of each."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=app, timeout=30, limits=limits) as http:

        async def start(token: str) -> tuple[str, str]:
            auth = {"Authorization": f"Token {token}"}
            async with gate:
                response = await http.post(
                    "/api/realtime/session",
                    content=OFFER,
                    headers={**auth, "Content-Type": "application/sdp"},
                )
                if response.status_code != 201:
                    raise RuntimeError(f"start: {response.status_code} {response.text[:200]}")
                # Active, so the hold outlasts the one-minute connect timeout.
                await http.post(f"{response.headers['Location']}/active", headers=auth)
                return token, response.headers["Location"]

        return await asyncio.gather(*(start(token) for token in tokens))


async def talk(sim: str, calls: list[dict]) -> None:
    """One scripted turn on every call at once (each plays out in real time, a few seconds)."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=CALLS)) as http:
        turns = [http.post(f"{sim}/_sim/calls/{call['id']}/turn", json={}) for call in calls]
        for response in await asyncio.gather(*turns):
            response.raise_for_status()


async def saved_items(app: str, started: list[tuple[str, str]]) -> int:
    async with httpx.AsyncClient(base_url=app, timeout=30) as http:

        async def count(token: str, url: str) -> int:
            detail = await http.get(url, headers={"Authorization": f"Token {token}"})
            return len(detail.json()["transcript"])

        return sum(await asyncio.gather(*(count(token, url) for token, url in started)))


def wait_all_saved(app: str, started: list[tuple[str, str]], seconds: float = 60) -> float:
    """Seconds until every call holds its turn's two items (the user's, the reply)."""
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        if asyncio.run(saved_items(app, started)) >= 2 * len(started):
            return time.perf_counter() - began
        time.sleep(0.25)
    raise RuntimeError(f"not every turn was saved within {seconds} s")


def sim_state(sim: str) -> tuple[list[dict], list[dict]]:
    calls = httpx.get(f"{sim}/_sim/calls", timeout=30).json()
    joins = httpx.get(f"{sim}/_sim/requests", params={"path": "/v1/realtime"}, timeout=30).json()
    return calls, joins


def wait_all_joined(sim: str, seconds: float = 60) -> tuple[list[dict], list[dict]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        calls, joins = sim_state(sim)
        if len(calls) == CALLS and all(call["sidebands"] == 1 for call in calls):
            return calls, joins
        time.sleep(0.5)
    raise RuntimeError(f"not every call was joined within {seconds} s")


def join_latencies_ms(calls: list[dict], joins: list[dict]) -> list[float]:
    first_join: dict[str, float] = {}
    for record in joins:
        first_join.setdefault(record["query"].get("call_id"), record["time"])
    return [(first_join[call["id"]] - call["created_at"]) * 1000 for call in calls]


@dataclass
class Figures:
    latencies_ms: list[float]
    all_joined_s: float
    hold_cpu_ms: float
    idle_rss_mib: float
    held_rss_mib: float
    still_joined: int
    turn_cpu_ms: float
    saved_after_s: float


def measure(database_url: str | None, redis_url: str | None) -> Figures:
    sim_port, app_port = free_port(), free_port()
    sim, app = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{app_port}"
    with bench_database(CALLS, postgres_url=database_url) as (url, users):
        extra = {"REDIS_URL": redis_url} if redis_url else {}
        env = app_env(url, OPENAI_BASE_URL=f"{sim}/v1", OPENAI_API_KEY=SERVER_KEY, **extra)
        with simulator(sim_port, "--canned-sdp"), daphne(app_port, env), worker(env) as proc:
            time.sleep(3)  # a few idle sweeps, then the baseline
            idle_rss = rss_mib(proc.pid)
            began = time.perf_counter()
            started = asyncio.run(start_calls(app, [token for _, token, _ in users]))
            calls, joins = wait_all_joined(sim)
            all_joined_s = time.perf_counter() - began
            held_rss = rss_mib(proc.pid)
            cpu_before = cpu_seconds(proc.pid)
            time.sleep(HOLD_S)
            hold_cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000
            still = sum(call["sidebands"] == 1 for call in sim_state(sim)[0])
            cpu_before = cpu_seconds(proc.pid)
            asyncio.run(talk(sim, calls))
            saved_after_s = wait_all_saved(app, started)
            turn_cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / CALLS
    return Figures(
        join_latencies_ms(calls, joins),
        all_joined_s,
        hold_cpu_ms,
        idle_rss,
        held_rss,
        still,
        turn_cpu_ms,
        saved_after_s,
    )


def report(name: str, figures: Figures, *, goal: bool) -> bool:
    latencies = figures.latencies_ms
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    met = p99 <= JOIN_GOAL_MS
    verdict = ("OK" if met else "MISSED") if goal else "for reference: joins wait for a sweep"
    per_call_minute = figures.hold_cpu_ms / (CALLS * HOLD_S / 60)
    per_call_kib = (figures.held_rss_mib - figures.idle_rss_mib) * 1024 / CALLS
    print(f"== {name}")
    print(
        f"sideband joined after the answer: n={len(latencies)} p50={p50:.1f} ms "
        f"p99={p99:.1f} ms max={max(latencies):.1f} ms (goal p99 ≤ {JOIN_GOAL_MS:.0f} ms) "
        f"-> {verdict}"
    )
    print(f"all {CALLS} started ({IN_FLIGHT} at a time) and joined in {figures.all_joined_s:.1f} s")
    print(
        f"CPU while holding {CALLS} calls for {HOLD_S:.0f} s: {figures.hold_cpu_ms:.0f} ms = "
        f"{per_call_minute:.2f} ms per call-minute (no goal set; quiet calls)"
    )
    print(
        f"resident memory: idle {figures.idle_rss_mib:.1f} MiB, with {CALLS} calls "
        f"{figures.held_rss_mib:.1f} MiB = {per_call_kib:.0f} KiB per watched call (no goal set)"
    )
    print(f"still joined after the hold: {figures.still_joined}/{CALLS}")
    print(
        f"a turn on every call at once: {figures.turn_cpu_ms:.1f} ms of worker CPU per turn "
        f"(its items saved, its cost recorded); all {2 * CALLS} items saved "
        f"{figures.saved_after_s:.1f} s after the last turn ended (no goal set)"
    )
    return (met or not goal) and figures.still_joined == CALLS


def main() -> int:
    results = []
    if redis_answers(REDIS_URL):
        name, database_url = databases()[-1]  # PostgreSQL when it answers
        figures = measure(database_url, REDIS_URL)
        results.append(report(f"{name} + Redis: starts wake the worker", figures, goal=True))
    else:
        print(f"Redis does not answer at {REDIS_URL}: measuring the embedded default only")
    figures = measure(None, None)
    name = "SQLite + in-memory layer (make run): the sweep finds new calls"
    results.append(report(name, figures, goal=False))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
