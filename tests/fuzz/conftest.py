"""Fuzzing the API with schemathesis: the budget, and a tally of what the server answered.

The suite runs a bounded, repeatable budget (`VOICE_FUZZ_EXAMPLES` cases per operation and
generation mode, derandomized); `make fuzz` raises it and draws fresh cases each run.
"""

import os
from collections import Counter

EXAMPLES = int(os.environ.get("VOICE_FUZZ_EXAMPLES", "8"))
RANDOM = os.environ.get("VOICE_FUZZ_RANDOM", "").lower() in {"1", "true", "yes"}

statuses: Counter = Counter()
_seconds = [0.0]


def pytest_runtest_logreport(report):
    if report.when == "call" and "tests/fuzz/" in report.nodeid:
        _seconds[0] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not statuses:
        return
    by_status = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    terminalreporter.write_line(
        f"fuzz: {sum(statuses.values())} requests in {_seconds[0]:.0f} s; by status {by_status}"
    )
