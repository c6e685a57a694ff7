"""What is read aloud from a reply (legacy_voice.speakable) on the worst text shapes we know.

Each shape is 10,000 characters (2.4 × the speech endpoint's cap) built to make a regex
backtrack: runs of newlines, of spaces before a table rule, of opening brackets, of unclosed
links, fences and tags. Goal: every shape in ≤ 50 ms (the median of 20 runs), so no request's
text can hold a server process noticeably.
"""

import statistics
import sys
import time

from legacy_voice.speakable import speakable

GOAL_MS = 50
RUNS = 20
SHAPES = {
    "10,000 newlines between words": "a" + "\n" * 10_000 + "a",
    "blank lines of spaces and tabs": "a" + "\n \t" * 3_333 + "a",
    "spaces before a table rule": " " * 10_000 + "x",
    "a pipe and spaces": "|" + " " * 10_000 + "x",
    "pipes on blank lines": "\n \n|" * 2_500,
    "opening brackets": "[" * 10_000,
    "image openings": "![" * 5_000,
    "unclosed links": "[a](" * 2_500,
    "unclosed reasoning tags": "<think>" * 1_428,
    "code fences": "```" * 3_333,
    "heading marks": "#" * 10_000,
    "list numbers": "1" * 10_000,
    "emphasis marks": "*_~`" * 2_500,
    "ordinary markdown": "## Heading\n\nSome **bold** [link](https://x.test) text.\n- item\n" * 180,
}


def median_ms(text: str) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        speakable(text)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    worst = 0.0
    for name, text in SHAPES.items():
        ms = median_ms(text)
        worst = max(worst, ms)
        print(f"{name:<34} {len(text):>6} chars  median {ms:7.2f} ms")
    ok = worst <= GOAL_MS
    print(f"goal: every shape ≤ {GOAL_MS} ms -> {'OK' if ok else 'MISSED'} (worst {worst:.2f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
