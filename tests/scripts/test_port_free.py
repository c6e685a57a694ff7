"""`make run` on a busy port: one line naming the port and how to pick another, exit non-zero,
for daphne's PORT and the simulator's SIM_PORT alike."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from scripts.port_free import port_is_free

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_listening_port_is_busy_and_a_closed_one_free(busy_port, free_port):
    assert not port_is_free("127.0.0.1", busy_port)
    assert port_is_free("127.0.0.1", free_port)


def serve(**ports: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOST": "127.0.0.1", "OPENAI_API_KEY": ""}  # "": use the simulator
    env.update({name: str(port) for name, port in ports.items()})
    return subprocess.run(
        ["scripts/serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_serve_on_a_busy_port_says_which_and_how_to_pick_another(busy_port, free_port):
    result = serve(PORT=busy_port, SIM_PORT=free_port)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Port {busy_port} on 127.0.0.1 is already in use (another server is running there); "
        "pick another: make run PORT=8123"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_serve_on_a_busy_simulator_port_names_sim_port(busy_port, free_port):
    result = serve(PORT=free_port, SIM_PORT=busy_port)

    assert result.returncode == 1
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert "make run SIM_PORT=8123" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert port_is_free("127.0.0.1", free_port)  # nothing was left running on the app's port
