"""The output shapes API.md names (`<call>`, `<item>`), shared by the REST API and the sockets."""

from rest_framework import serializers

from voice.models import Call, Message


class CallSerializer(serializers.ModelSerializer):
    conversation = serializers.UUIDField(source="conversation_id", read_only=True)
    ended_reason = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "mode",
            "status",
            "model",
            "voice",
            "conversation",
            "started_at",
            "connected_at",
            "ended_at",
            "ended_reason",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Call) -> dict:
        data = super().to_representation(instance)
        data["ended_reason"] = instance.ended_reason or None
        return data


class ItemSerializer(serializers.ModelSerializer):
    previous_item_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = ["item_id", "role", "text", "interrupted", "previous_item_id", "created_at"]
        read_only_fields = fields

    def to_representation(self, instance: Message) -> dict:
        data = super().to_representation(instance)
        data["previous_item_id"] = instance.previous_item_id or None
        return data
