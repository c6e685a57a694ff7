from django.apps import AppConfig


class VoiceConfigApp(AppConfig):
    name = "voice"
    verbose_name = "Voice calls"

    def ready(self) -> None:
        # Fail at start-up on malformed encryption keys, not on the first key a user saves.
        from voice import crypto

        crypto.validate_configured_keys()

        from django.contrib.auth.signals import user_logged_out

        from voice import events

        user_logged_out.connect(events.session_logged_out, dispatch_uid="voice.session_sockets")

        # Every installed app's voice_tools module, the built-ins (voice/voice_tools.py) first
        # among them: a broken tool definition fails the start-up, not a call.
        from voice import tools

        tools.autodiscover()
