from django.apps import AppConfig


class LegacyVoiceConfig(AppConfig):
    name = "legacy_voice"
    verbose_name = "Legacy voice calls"
