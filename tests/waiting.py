"""Waiting for a condition with a deadline, never for a fixed time."""

import time


def wait_for(condition, seconds: float = 10.0):
    """Poll `condition` until it returns something truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"not met within {seconds} s")
