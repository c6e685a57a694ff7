"""`/ws/voice`: relays the user's own call events (docs/api.md "WebSocket") to each open page.

A socket lives as long as what opened it: logging that session out, or revoking that token,
closes it (and only it) with 4401. The socket is server → client; what a client sends is
ignored, and a malformed frame gets an error message back, never a traceback in the log.
"""

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from voice.events import socket_credential, user_group_name

# Application close codes (4000–4999): the page tells "log in again" from a network error.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_MESSAGE_TOO_BIG = 1009  # RFC 6455
# Nothing a client may send needs more; anything larger is not one of ours.
MAX_CLIENT_MESSAGE_CHARS = 4096


class VoiceStatusConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.credential = self._credential()
        self.group_name = user_group_name(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    def _credential(self) -> str:
        if token := self.scope.get("auth_token"):
            return socket_credential("token", token)
        return socket_credential("session", self.scope["session"].session_key or "")

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if text_data is None:
            await self._refuse("This socket takes JSON text messages, not binary ones.")
        elif len(text_data) > MAX_CLIENT_MESSAGE_CHARS:
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
        else:
            try:
                json.loads(text_data)
            except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's
                await self._refuse("That message is not JSON.")
            # A well-formed message is ignored: nothing a client says changes this socket.

    async def _refuse(self, message: str) -> None:
        await self.send_json(
            {"type": "error", "error": {"code": "invalid_message", "message": message}}
        )

    async def auth_ended(self, event: dict[str, Any]) -> None:
        if event["credential"] == self.credential:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)

    async def call_status(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "call.status", "call": event["call"]})

    async def call_transcript(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "call.transcript", "call_id": event["call_id"], "item": event["item"]}
        )
