"""Wait until HOST:PORT accepts TCP connections; exit 1 after SECONDS. Usage: HOST PORT SECONDS."""

import socket
import sys
import time


def wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


if __name__ == "__main__":
    sys.exit(0 if wait_for_port(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])) else 1)
