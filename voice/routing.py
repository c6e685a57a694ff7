from django.urls import path

from voice.consumers import VoiceStatusConsumer

websocket_urlpatterns = [
    path("ws/voice", VoiceStatusConsumer.as_asgi()),
]
