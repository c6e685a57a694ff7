"""The output shapes docs/api.md names (`<call>`, `<item>`), shared by the REST API and the sockets.

Plain serializers with explicit fields: they are built on every status push, and a
ModelSerializer re-introspects the model each time it is instantiated.
"""

import logging
from typing import Any

from rest_framework import serializers

from voice.models import Call, Message, Mode
from voice.validators import KNOWN_TIMEZONES, TIMEZONE_MAX_CHARS

logger = logging.getLogger(__name__)


class CallerTimeZoneField(serializers.CharField):
    """A start's optional `timezone`: the caller's IANA name, as the browser reports it
    (`Intl.DateTimeFormat().resolvedOptions().timeZone`). A name this server's time zone
    database does not know (a zone newer than its tzdata, a browser's own alias) is no reason
    to refuse a call: it is dropped, and UTC is used. Only an overlong value is refused."""

    def to_internal_value(self, data: Any) -> str:
        name = str(super().to_internal_value(data))
        if self.max_length is not None and len(name) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # before it could be dropped
        if name and name not in KNOWN_TIMEZONES:
            logger.info("Unknown caller time zone %r: UTC is used", name)
            return ""
        return name


def timezone_field() -> serializers.CharField:
    return CallerTimeZoneField(
        required=False,
        allow_blank=True,
        max_length=TIMEZONE_MAX_CHARS,
        help_text="The caller's IANA time zone, e.g. Europe/Paris (tools such as current_time "
        "use it); default, and for a name this server does not know: UTC.",
    )


class CallSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    mode = serializers.ChoiceField(choices=Mode.choices, read_only=True)
    status = serializers.ChoiceField(choices=Call.Status.choices, read_only=True)
    model = serializers.CharField(read_only=True)
    voice = serializers.CharField(read_only=True)
    conversation = serializers.UUIDField(
        source="conversation_id",
        read_only=True,
        allow_null=True,
        help_text="Null only for a start that failed before its new conversation had a turn.",
    )
    started_at = serializers.DateTimeField(read_only=True)
    connected_at = serializers.DateTimeField(read_only=True, allow_null=True)
    ended_at = serializers.DateTimeField(read_only=True, allow_null=True)
    ended_reason = serializers.SerializerMethodField()

    def get_ended_reason(self, call: Call) -> str | None:
        return call.ended_reason or None


class ToolCallSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(read_only=True)
    arguments = serializers.DictField(read_only=True, help_text="As the tool received them.")
    ok = serializers.BooleanField(
        read_only=True, allow_null=True, help_text="Null while the tool still runs."
    )


class ItemSerializer(serializers.Serializer[Any]):
    item_id = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Message.Role.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    interrupted = serializers.BooleanField(read_only=True)
    previous_item_id = serializers.SerializerMethodField()
    # A field named `source`: the stubs take it for `Field.source` (a str).
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Message.Source.choices,
        read_only=True,
        help_text="voice: spoken (or spoken to the caller); text: typed, or a reply shown as text.",
    )
    created_at = serializers.DateTimeField(read_only=True)
    tool = ToolCallSerializer(
        read_only=True,
        allow_null=True,
        help_text="For role tool: which tool, with what arguments, and whether it worked; "
        "null for every other item.",
    )

    def get_previous_item_id(self, message: Message) -> str | None:
        return message.previous_item_id or None
