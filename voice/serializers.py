"""The output shapes API.md names (`<call>`, `<item>`), shared by the REST API and the sockets.

Plain serializers with explicit fields: they are built on every status push, and a
ModelSerializer re-introspects the model each time it is instantiated.
"""

from rest_framework import serializers

from voice.models import Call, Message, Mode


class CallSerializer(serializers.Serializer):
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


class ItemSerializer(serializers.Serializer):
    item_id = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Message.Role.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    interrupted = serializers.BooleanField(read_only=True)
    previous_item_id = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    def get_previous_item_id(self, message: Message) -> str | None:
        return message.previous_item_id or None
