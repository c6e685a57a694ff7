"""How much one user may write into, and read out of, a transcript at once: the limits of
POST /api/calls/<id>/transcript and of the paged reads, in one place.

The API views, their schema and README's "Limits" quote these names, so a change here is a
change everywhere. Body-size caps live with their parsers (`VOICE_MAX_JSON_BODY_BYTES`,
`realtime.sdp.MAX_SDP_BYTES`, `legacy_voice.parsers.MAX_AUDIO_BYTES`).
"""

from datetime import timedelta

# One save request: the page saves items as they finish, so a batch stays small even after a
# network outage; over this is 413.
TRANSCRIPT_ITEMS_PER_REQUEST = 50
# One item's text: far more than anyone says in one turn (OpenAI's replies are a few thousand
# characters at most); over this is 400.
TRANSCRIPT_ITEM_TEXT_CHARS = 20_000
# Item ids (`item_id`, `previous_item_id`): OpenAI's `item_…` ids or the client's own, 1–64
# of these characters; anything else is 400.
ITEM_ID_MAX_CHARS = 64
ITEM_ID_PATTERN = rf"^[A-Za-z0-9_.:\-]{{1,{ITEM_ID_MAX_CHARS}}}$"
# One call: a 60-minute call at a turn every few seconds stays well below; over this is 413.
TRANSCRIPT_ITEMS_PER_CALL = 2_000
# Typed turns outside any call (POST /api/conversations/<id>/messages) in one conversation,
# counting the replies: the same bound as a call's transcript; over this is 413.
TYPED_ITEMS_PER_CONVERSATION = 2_000
# After a call ends, the page may still flush what it queued (on End and on page close); later
# client saves are 409 call_ended. Server-side writers (the call monitor) are not bound by it.
LATE_SAVE_GRACE = timedelta(minutes=2)

# Reads of a call's transcript or a conversation's messages: the latest page by default, an
# earlier one with `?before=<cursor>`; `?limit=` picks the size, up to the maximum.
READ_PAGE_DEFAULT = 200
READ_PAGE_MAX = 500
