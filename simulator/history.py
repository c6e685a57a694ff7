"""The conversation a Realtime session holds: its items in conversation order, with what the
simulator knows about each (who said it, how, and whether it arrived before the first reply).

OpenAI inserts an item after ``previous_item_id``, so order is not arrival order: a client may
put earlier turns at the start (``"root"``) or after any item. ``/_sim/calls`` shows this order.
"""

from dataclasses import dataclass


@dataclass
class Entry:
    item: dict  # the wire object, as events and conversation.item.retrieve show it
    source: str  # "client" (conversation.item.create), "audio" (committed speech), "model"
    text: str | None  # what was said or written (a spoken turn's words, a reply's transcript)
    audio_ms: float = 0.0  # how long its audio lasts, for usage
    before_first_response: bool = False

    @property
    def id(self) -> str:
        return self.item["id"]

    @property
    def role(self) -> str | None:
        return self.item.get("role")

    def describe(self) -> dict:
        return {
            "id": self.id,
            "type": self.item.get("type"),
            "role": self.role,
            "text": self.text,
            "source": self.source,
            "status": self.item.get("status"),
            "before_first_response": self.before_first_response,
        }


class History:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}  # insertion order is conversation order

    def __contains__(self, item_id) -> bool:
        return item_id in self._entries

    def __iter__(self):
        return iter(list(self._entries.values()))

    def get(self, item_id) -> Entry | None:
        return self._entries.get(item_id)

    def last_id(self) -> str | None:
        return next(reversed(self._entries), None)

    def insert(self, entry: Entry, *, after: str | None) -> None:
        """Put ``entry`` right after the item ``after``, or first when ``after`` is None."""
        ids = list(self._entries)
        position = 0 if after is None else ids.index(after) + 1
        if position == len(ids):
            self._entries[entry.id] = entry
            return
        entries = list(self._entries.items())
        entries.insert(position, (entry.id, entry))
        self._entries = dict(entries)

    def remove(self, item_id) -> bool:
        return self._entries.pop(item_id, None) is not None

    def up_to(self, item_id: str | None) -> list[Entry]:
        """The items a response placed after ``item_id`` sees: that one and all before it."""
        if item_id is None:
            return []
        entries = list(self._entries.values())
        ids = [entry.id for entry in entries]
        return entries[: ids.index(item_id) + 1] if item_id in ids else entries
