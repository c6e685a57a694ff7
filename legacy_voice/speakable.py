"""What of a reply is read aloud: the words, not the markdown, the code or the reasoning.

The saved message keeps the original text; only speech gets this version.

Every pattern here runs in time linear in the text's length, whatever the text: no
quantifier can trade characters with another one (whitespace is `[ \\t]`, never `\\s`, so a
line's pattern cannot reach into the next line; runs that stand side by side are possessive),
and the spans between brackets are bounded, so each position is tried a bounded number of
times. A pattern that backtracks super-linearly would let one request hold a CPU for minutes
(`"a" + "\\n" * 4000 + "a"` took about five minutes with the old table-rule pattern).
bench/speakable.py measures the worst shapes.
"""

import re

# OpenAI's /audio/speech takes at most 4,096 characters of input; the speech API refuses
# longer text, and what is spoken is cut to this at a word boundary.
MAX_SPEECH_CHARS = 4096
# Link texts, image descriptions and URLs in brackets longer than this are left as they are:
# real ones are short, and the bound keeps the patterns linear.
_MAX_SPAN = 500

_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.DOTALL | re.IGNORECASE)
_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.DOTALL)
_IMAGE = re.compile(rf"!\[[^\[\]\n]{{0,{_MAX_SPAN}}}\]\([^)\n]{{0,{_MAX_SPAN}}}\)")
_LINK = re.compile(rf"\[([^\[\]\n]{{1,{_MAX_SPAN}}})\]\([^)\n]{{0,{_MAX_SPAN}}}\)")
_URL = re.compile(r"https?://\S+")
_LINE_MARKERS = re.compile(
    r"^[ \t]{0,3}+(#{1,6}+[ \t]++|>[ \t]?|[-*+][ \t]++|\d{1,9}+[.)][ \t]++)", re.MULTILINE
)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~|`)")
_TABLE_RULE = re.compile(r"^[ \t]*+(\|[ \t]*+)?:?-{3,}+[^\n]*", re.MULTILINE)


def speakable(text: str) -> str:
    """The words of `text` to read aloud, on one line, at most `MAX_SPEECH_CHARS` long.

    CPU work proportional to the text: call it off the event loop.
    """
    text = _REASONING.sub(" ", text)
    text = _CODE_BLOCK.sub(" ", text)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub("a link", text)
    text = _TABLE_RULE.sub(" ", text)
    text = _LINE_MARKERS.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = text.replace("|", ", ")
    return _cut(" ".join(text.split()))


def _cut(spoken: str) -> str:
    """Table cells read as ", " can make the words longer than the text: keep within the cap."""
    if len(spoken) <= MAX_SPEECH_CHARS:
        return spoken
    return spoken[: MAX_SPEECH_CHARS + 1].rsplit(" ", 1)[0][:MAX_SPEECH_CHARS]
