"""Refuse to start on a busy port with one line that says which and how to pick another,
instead of a server's traceback. Usage: port_free.py HOST PORT VARIABLE (exit 1 when busy)."""

import socket
import sys


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port left in TIME_WAIT by a stopped server is free to reuse.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def busy_message(host: str, port: int, variable: str) -> str:
    other = 8123 if port != 8123 else 8124
    return (
        f"Port {port} on {host} is already in use (another server is running there); "
        f"pick another: make run {variable}={other}"
    )


if __name__ == "__main__":
    host, port, variable = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not port_is_free(host, port):
        print(busy_message(host, port, variable), file=sys.stderr)
        sys.exit(1)
