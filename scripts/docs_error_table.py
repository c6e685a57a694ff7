#!/usr/bin/env python
"""Write docs/api.md's error table from `voice.errors.ErrorCode` (`make docs`).

The table sits between `<!-- error-table:start -->` and `<!-- error-table:end -->`;
tests/voice/test_error_codes.py fails when it differs from what this writes.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice.errors import error_table_markdown  # noqa: E402  (needs the repo on the path)

START, END = "<!-- error-table:start -->", "<!-- error-table:end -->"


def main() -> None:
    path = ROOT / "docs" / "api.md"
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r"\n.*?\n" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        sys.exit(f"{path}: the error-table markers are missing")
    table = f"{START}\n{error_table_markdown()}\n{END}"
    path.write_text(pattern.sub(lambda _: table, text))


if __name__ == "__main__":
    main()
