"""A local stand-in for the OpenAI API: Realtime calls over WebRTC plus the legacy STT/chat/TTS.

It speaks the same wire protocol as api.openai.com, so client code tested against it works
against the real service. Run it with ``python -m simulator --port 8100``; see ``app.py`` for the
routes and ``settings.py`` for the knobs.
"""
