"""Shared parts of the benchmarks: a throwaway database with users and tokens, the simulator
and daphne as real processes on loopback, and percentiles.

Every benchmark talks to real processes over loopback only, and stops by itself.
"""

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ENCRYPTION_KEY = "GQbGz3oO2WqbVAd3Kl8rBSxRl5cMI8e1B1HQmnw2B2o="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


def app_env(database_url: str, **extra: str) -> dict:
    """Production-like settings (DEBUG off) for a server under measurement."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="voiceproject.settings",
        DEBUG="false",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        VOICE_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        OPENAI_ALLOW_INSECURE_BASE_URL="true",  # the simulator speaks plain HTTP on loopback
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/voice_bench"
)


def databases() -> list[tuple[str, str | None]]:
    """The databases to measure on: the embedded default, and PostgreSQL when it answers."""
    found: list[tuple[str, str | None]] = [("SQLite (the embedded default)", None)]
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            found.append(("PostgreSQL (a deployment)", POSTGRES_URL))
    except (ImportError, OSError, psycopg.Error):
        print("PostgreSQL does not answer: measuring SQLite only")
    return found


def _recreate_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def bench_database(
    users: int,
    *,
    postgres_url: str | None = None,
    call_starts_per_minute: int = 600,
    own_keys: bool = False,
) -> Iterator[tuple[str, list]]:
    """A fresh database with `users` users (each with an OpenAI key of their own when
    `own_keys`); yields (DATABASE_URL, [(user_id, token, session)])."""
    with tempfile.TemporaryDirectory() as folder:
        url = postgres_url or f"sqlite:///{folder}/bench.sqlite3"
        if postgres_url:
            _recreate_postgres(postgres_url)
        env = app_env(url)
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run(
            [
                PY,
                "-m",
                "bench.seed",
                str(users),
                str(call_starts_per_minute),
                *(["--own-keys"] if own_keys else []),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        yield url, [line.split() for line in out.stdout.splitlines()]


@contextlib.contextmanager
def process(args: list[str], port: int, env: dict | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def simulator(port: int, *flags: str):
    return process([PY, "-m", "simulator", "--port", str(port), *flags], port)


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def daphne(port: int, env: dict):
    args = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "voiceproject.asgi:application"]
    return process(args, port, env)


# The ASGI servers a benchmark can run the app under. "uvicorn" is the production command
# (scripts/serve-production); the others are there to compare against it.
SERVERS = ("uvicorn", "daphne", "granian")


def asgi_server(kind: str, port: int, env: dict, workers: int = 1):
    """The app under `kind` with `workers` processes sharing `port`."""
    if kind == "uvicorn":
        env = {**env, "PYTHON": PY, "HOST": "127.0.0.1", "PORT": str(port)}
        env["WEB_CONCURRENCY"] = str(workers)
        return process([str(ROOT / "scripts" / "serve-production")], port, env)
    if kind == "granian":
        args = [PY, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--workers", str(workers)]
        return process([*args, "voiceproject.asgi:application"], port, env)
    if workers != 1:
        raise ValueError("daphne runs one process per port here")
    return daphne(port, env)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process `pid` has used so far, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        fields = stat.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15, in clock ticks
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and every live process under it (a multi-process server's workers)."""
    total = cpu_seconds(pid)
    for task in os.listdir(f"/proc/{pid}/task"):
        # A thread may end between the listing and the read.
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/children") as f:
            total += sum(tree_cpu_seconds(int(child)) for child in f.read().split())
    return total


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0–100), by linear interpolation between closest ranks."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=1000, method="inclusive")[round(q * 10) - 1]


def describe(name: str, samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return (
        f"{name:<34} n={len(ms):<4} p50={percentile(ms, 50):7.2f} ms  "
        f"p90={percentile(ms, 90):7.2f} ms  p99={percentile(ms, 99):7.2f} ms"
    )
