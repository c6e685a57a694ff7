"""The built-in tools (on by default; the admin may turn each off). Found at start-up like any
app's `voice_tools` module, so a host project's tools sit beside them on equal terms."""

from typing import Any

from django.utils import timezone

from voice.selectors import conversation_search
from voice.tools import ToolContext, voice_tool

SEARCH_RESULTS_MAX = 10
SNIPPET_MAX_CHARS = 160


@voice_tool(ends_call=True, line="Ended the call")
def end_call(context: ToolContext) -> dict[str, Any]:
    """End the call. Use it when the user says goodbye or asks to hang up: call it first, then
    say a short goodbye; the call ends once your goodbye has been spoken."""
    return {"ending": True, "next": "Say a short goodbye now. The call ends after it."}


@voice_tool(line="Searched your conversations for '{query}'")
def search_conversations(context: ToolContext, query: str, limit: int = 5) -> dict[str, Any]:
    """Search the user's earlier conversations with you by words, e.g. what was said about the
    lease; returns the matching conversations, newest first, with their date and a snippet.

    Args:
        query: the words to look for; every word must appear.
        limit: how many conversations to return (1-10).
    """
    limit = max(1, min(limit, SEARCH_RESULTS_MAX))
    found = conversation_search(user=context.user, query=query)
    if context.call.conversation_id:  # the conversation going on now holds the question itself
        found = found.exclude(pk=context.call.conversation_id)
    words = query.split()
    return {
        "query": query,
        "results": [
            {
                "title": conversation.title or "Untitled conversation",
                "date": timezone.localtime(conversation.updated_at, context.timezone).date(),
                "snippet": _snippet(conversation.snippet or "", words),
            }
            for conversation in found[:limit]
        ],
    }


def _snippet(text: str, words: list[str]) -> str:
    """The part of `text` around the first word found, within SNIPPET_MAX_CHARS."""
    text = " ".join(text.split())
    if len(text) <= SNIPPET_MAX_CHARS:
        return text
    at = min((i for w in words if (i := text.lower().find(w.lower())) >= 0), default=0)
    start = max(0, at - SNIPPET_MAX_CHARS // 3)
    piece = text[start : start + SNIPPET_MAX_CHARS - 2]
    return ("…" if start else "") + piece + ("…" if start + len(piece) < len(text) else "")


@voice_tool(line="Checked the time")
def current_time(context: ToolContext) -> dict[str, Any]:
    """The current date and time where the user is (their time zone, from their browser)."""
    now = timezone.localtime(timezone.now(), context.timezone)
    return {
        "date": f"{now:%A} {now.day} {now:%B %Y}",
        "time": now.strftime("%H:%M"),
        "timezone": context.timezone.key,
        "iso": now.isoformat(timespec="seconds"),
    }
