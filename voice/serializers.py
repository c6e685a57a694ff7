"""The output shapes docs/api.md names (`<call>`, `<item>`, the user's options and key),
shared by the REST API, the sockets and the call page.

Plain serializers with explicit fields: they are built on every status push, and a
ModelSerializer re-introspects the model each time it is instantiated.
"""

import logging
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from voice.models import Call, Message, Mode, TurnDetection
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


# --- what the page and the API say about the user's options (the call page embeds the same) --


class _RealtimeConfigSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["disabled", "no_api_key"], allow_null=True)
    model = serializers.CharField()
    voices = serializers.ListField(child=serializers.CharField())
    default_voice = serializers.CharField()
    turn_detection = serializers.ChoiceField(
        choices=TurnDetection.choices,
        help_text="How Realtime calls end a turn; `manual`: every Realtime call is push-to-talk.",
    )


class _LegacyConfigSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["no_api_key"], allow_null=True)
    stt = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    tts = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    voices = serializers.ListField(child=serializers.CharField())


class PreferenceOutputSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=Mode.choices)
    voice = serializers.CharField()
    push_to_talk = serializers.BooleanField(
        help_text="The user talks only while holding a button (or the space bar): their own "
        "choice, else the administrator's default."
    )


@extend_schema_serializer(component_name="VoiceConfig")
class ClientConfigSerializer(serializers.Serializer[Any]):
    realtime = _RealtimeConfigSerializer()
    legacy = _LegacyConfigSerializer()
    preference = PreferenceOutputSerializer()


class ApiKeyOutputSerializer(serializers.Serializer[Any]):
    configured = serializers.BooleanField()
    masked = serializers.CharField(allow_null=True, help_text="e.g. sk-…abcd; never the key.")
