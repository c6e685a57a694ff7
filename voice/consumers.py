"""`/ws/voice`: relays the user's own call events (API.md "WebSocket") to each open page."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from voice.events import user_group_name

# Application close codes (4000–4999): the page tells "log in again" from a network error.
CLOSE_NOT_AUTHENTICATED = 4401


class VoiceStatusConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.group_name = user_group_name(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """The socket is server → client only; anything a client sends is ignored."""

    async def call_status(self, event: dict) -> None:
        await self.send_json({"type": "call.status", "call": event["call"]})

    async def call_transcript(self, event: dict) -> None:
        await self.send_json(
            {"type": "call.transcript", "call_id": event["call_id"], "item": event["item"]}
        )
