"""What the simulated people say: scripted user transcripts and assistant replies.

Each ``Script`` cycles through the configured texts on its own, so every realtime call starts
from the first text (predictable in tests) while the legacy endpoints share one app-wide script.
"""

import re

from .settings import Settings

CHAT_SENTENCES = [
    "This is a scripted answer from the OpenAI simulator.",
    "It is long enough to stream as several chunks.",
    "Each sentence arrives at the configured token rate.",
    "A real model would say something more useful here.",
    "That is all the simulator has to say for now.",
]


def _topic(text: str, limit: int = 60) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


class Script:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._user_turns = 0
        self._assistant_turns = 0

    def next_user_text(self) -> str:
        texts = self._settings.user_texts
        self._user_turns += 1
        return texts[(self._user_turns - 1) % len(texts)]

    def next_reply(self, *, to_text: str | None = None) -> str:
        """The next scripted reply; a typed user message is quoted so the turn is traceable."""
        texts = self._settings.assistant_texts
        self._assistant_turns += 1
        reply = texts[(self._assistant_turns - 1) % len(texts)]
        if to_text:
            return f'You wrote "{_topic(to_text)}". {reply}'
        return reply

    def tool_call_for(self, text: str | None) -> dict | None:
        """The scripted function call (``tool_script``) for a user's turn: the first entry
        whose ``match`` is in the turn's words, in any case."""
        said = (text or "").lower()
        return next((e for e in self._settings.tool_script if e["match"].lower() in said), None)

    def chat_reply(self, last_user_message: str) -> str:
        count = max(1, self._settings.chat_sentences)
        topic = _topic(last_user_message) or "nothing in particular"
        sentences = [f'You said: "{topic}".']
        sentences += [CHAT_SENTENCES[i % len(CHAT_SENTENCES)] for i in range(count - 1)]
        return " ".join(sentences)


def tokens(text: str) -> list[str]:
    """Word-sized pieces that join back into ``text``, like a tokenizer's stream of deltas."""
    return re.findall(r"\s*\S+", text)
