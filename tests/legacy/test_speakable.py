"""legacy_voice.speakable: what of a reply is read aloud, in time linear in its length."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from legacy_voice.speakable import MAX_SPEECH_CHARS, speakable

ROOT = Path(__file__).resolve().parents[2]

# Shapes that made a pattern backtrack (each position retried against the rest of the text),
# at 10,000 characters, with what must be read aloud.
ADVERSARIAL = [
    ("a" + "\n" * 10_000 + "a", "a a"),
    ("a" + "\n \t" * 3_000 + "a", "a a"),
    (" " * 10_000 + "x", "x"),
    ("|" + " " * 10_000 + "x", ", x"),
    ("\n \n|" * 2_500, ", " * 2_047 + ","),
    ("[" * 10_000, "[" * MAX_SPEECH_CHARS),
    ("![" * 5_000, "![" * (MAX_SPEECH_CHARS // 2)),
    ("[a](" * 2_500, ("[a](" * 1_024)),
    ("<think>" * 1_400, ""),
    ("```" * 3_001 + "x", ""),
    ("#" * 10_000 + " x", "#" * MAX_SPEECH_CHARS),
    ("1" * 10_000 + ".", "1" * MAX_SPEECH_CHARS),
]


def test_adversarial_texts_are_read_correctly_without_catastrophic_backtracking():
    """Run in a child process with a 5 s deadline: a regex stuck in backtracking holds the
    GIL and cannot be interrupted from a thread, and the old table-rule pattern needed hours
    for 10,000 newlines. 5 s only catches that kind of blow-up, never a slow machine: the
    figure that matters (≤ 50 ms for every shape here) is measured by bench/speakable.py,
    since the suite asserts no timings."""
    texts = [text for text, _ in ADVERSARIAL]
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; from legacy_voice.speakable import speakable; "
            "print(json.dumps([speakable(t) for t in json.load(sys.stdin)]))",
        ],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=5,
    )

    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == [spoken for _, spoken in ADVERSARIAL]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("# Title\n\nSome **bold** and _soft_ words.", "Title Some bold and soft words."),
        ("| a | b |\n|---|:--:|\n| 1 | 2 |", ", a , b , , 1 , 2 ,"),
        ("  |:---|---|\nafter", "after"),
        ("- one\n* two\n3. three\n> quoted", "one two three quoted"),
        ("See [the docs](https://x.test/a) and ![a cat](cat.png).", "See the docs and ."),
        ("Visit https://example.com/path now", "Visit a link now"),
        ("<think>plan it</think>Hello.<reasoning>unclosed", "Hello."),
        ("Run:\n```python\nprint(1)\n```\nDone.", "Run: Done."),
        ("A [link text that runs on](", "A [link text that runs on]("),
    ],
)
def test_markdown_code_and_reasoning_are_not_read(text, spoken):
    assert speakable(text) == spoken


def test_what_is_spoken_never_exceeds_the_speech_limit_and_ends_on_a_word():
    spoken = speakable("word| " * 2_000)

    assert len(spoken) <= MAX_SPEECH_CHARS
    assert spoken.endswith(",")
    assert speakable("x" * (MAX_SPEECH_CHARS + 10)) == "x" * MAX_SPEECH_CHARS
