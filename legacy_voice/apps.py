from django.apps import AppConfig


class LegacyVoiceConfig(AppConfig):
    name = "legacy_voice"
    verbose_name = "Legacy voice calls"

    def ready(self) -> None:
        from voice.models import Mode
        from voice.pipelines import Pipeline, register

        # No upstream call lives beyond each request, so there is nothing to hang up or watch;
        # the call monitor's sweep still applies the longest-call and idle limits.
        register(Pipeline(mode=Mode.LEGACY))
