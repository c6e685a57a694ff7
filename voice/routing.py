from django.urls import path

from voice.consumers import VoiceStatusConsumer

websocket_urlpatterns = [
    path("ws/voice", VoiceStatusConsumer.as_asgi(), name="voice-status"),
]

# Read by reverse(..., urlconf="voice.routing") (Django looks for `urlpatterns`): the call page
# names the socket's address instead of writing it (voice/views.py).
urlpatterns = websocket_urlpatterns
