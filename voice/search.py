"""Conversation search: how a query becomes words, and the index of each conversation's words.

On PostgreSQL every conversation's words (of its title and of all its messages, as the `simple`
text search configuration normalizes them) are rows of `ConversationTerm`, whose unique index
(user, term, conversation) answers "which of this user's conversations contain this word" from
the index alone, however common the word: a stop word in every message costs no more than a
rare one. (A GIN index over per-conversation tsvectors was measured first: for a word in most
conversations PostgreSQL reads every document instead, about 100 ms for 2,000 conversations.)
Elsewhere (SQLite, the embedded default) each word is a case-insensitive substring of the title
or of any message, looked up at query time.

The configuration is `simple`: it lowercases and splits, but neither stems nor drops stop
words, because conversations are in whatever language the user speaks (`english` would stem
German words as if they were English, and would silently ignore a query of stop words), and
because "every word must match" should mean the words as typed, as on SQLite.
"""

import re
from typing import Any
from uuid import UUID

from django.db import connection

SEARCH_CONFIG = "simple"
# A longer query is refused (400): it would only make a slower query, never a better one.
QUERY_MAX_CHARS = 200
QUERY_MAX_WORDS = 8
# The last word also matches as a prefix (type-ahead) from this length on: a one- or
# two-letter prefix matches much of the vocabulary and finds nothing in particular.
PREFIX_MIN_CHARS = 3
# Longer "words" (a pasted hash, a URL) are not indexed: nobody searches for them by hand.
TERM_MAX_CHARS = 100
_WORD = re.compile(r"\w+")


def search_words(query: str, *, vendor: str) -> list[str]:
    """The query's words, lowercased, each once. On PostgreSQL, runs of letters and digits, as
    its parser mostly splits text (`e-mail` is `e` and `mail`); the substring fallback splits
    at blanks only."""
    words = _WORD.findall(query.lower()) if vendor == "postgresql" else query.lower().split()
    return list(dict.fromkeys(words))


def term_lookup(word: str, *, last: bool) -> dict[str, str]:
    """The `ConversationTerm` filter for one word: the word itself, or for the last word of the
    query every term it begins (as a range, which the index answers, and `startswith`, which
    keeps it exact under any collation)."""
    if not last or len(word) < PREFIX_MIN_CHARS:
        return {"term": word}
    after = word[:-1] + chr(ord(word[-1]) + 1)
    return {"term__gte": word, "term__lt": after, "term__startswith": word}


# --- keeping the index (PostgreSQL) -----------------------------------------------------------

_REMOVE_SQL = "DELETE FROM voice_conversationterm WHERE conversation_id = %(id)s"
# Each message is parsed on its own: to_tsvector refuses a text whose lexemes pass 1 MB. Tool
# lines are left out: "Searched your conversations for 'lease'" must not match 'lease'.
_INDEX_ALL_SQL = (
    "INSERT INTO voice_conversationterm (user_id, conversation_id, term) "
    "SELECT DISTINCT c.user_id, c.id, t.term FROM voice_conversation c CROSS JOIN LATERAL ("
    "SELECT unnest(tsvector_to_array(to_tsvector(%(config)s, c.title))) UNION "
    "SELECT unnest(tsvector_to_array(to_tsvector(%(config)s, m.text))) "
    "FROM voice_message m WHERE m.conversation_id = c.id AND m.role <> 'tool') AS t(term) "
    "WHERE c.id = %(id)s AND length(t.term) <= %(max)s ON CONFLICT DO NOTHING"
)
_INDEX_TEXTS_SQL = (
    "INSERT INTO voice_conversationterm (user_id, conversation_id, term) "
    "SELECT DISTINCT c.user_id, c.id, t.term FROM voice_conversation c, "
    "unnest(%(texts)s::text[] || c.title) AS m(text), "
    "unnest(tsvector_to_array(to_tsvector(%(config)s, m.text))) AS t(term) "
    "WHERE c.id = %(id)s AND length(t.term) <= %(max)s ON CONFLICT DO NOTHING"
)


def search_index_rebuild(*, conversation_id: UUID) -> None:
    """The conversation's words indexed anew, from its title and every message: after a
    rename, or when a message's text changed (the words it lost must stop matching)."""
    if connection.vendor != "postgresql":
        return
    params: dict[str, Any] = {"config": SEARCH_CONFIG, "id": conversation_id, "max": TERM_MAX_CHARS}
    with connection.cursor() as cursor:
        cursor.execute(_REMOVE_SQL, params)
        cursor.execute(_INDEX_ALL_SQL, params)


def search_index_add(*, conversation_id: UUID, texts: list[str]) -> None:
    """New messages' words (and the title's, which is short and may just have been set from
    them), added without reading the other messages: a call saves its turns one by one, and
    rebuilding a long conversation each time would cost more and more."""
    if connection.vendor != "postgresql" or not texts:
        return
    params: dict[str, Any] = {"config": SEARCH_CONFIG, "id": conversation_id, "max": TERM_MAX_CHARS}
    with connection.cursor() as cursor:
        cursor.execute(_INDEX_TEXTS_SQL, {**params, "texts": texts})
