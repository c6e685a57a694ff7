"""The user's view of the configuration, their preferences and their own OpenAI key."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voice import selectors
from voice.errors import ErrorCode
from voice.models import Mode, TurnDetection
from voice.schema import ERRORS
from voice.services import keys as key_services
from voice.services import preferences as preference_services
from voice.users import request_user
from voice.validators import OPENAI_KEY_PATTERN


class _RealtimeConfigSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["disabled", "no_api_key"], allow_null=True)
    model = serializers.CharField()
    voices = serializers.ListField(child=serializers.CharField())
    default_voice = serializers.CharField()
    turn_detection = serializers.ChoiceField(
        choices=TurnDetection.choices,
        help_text="How Realtime calls end a turn; `manual`: every Realtime call is push-to-talk.",
    )


class _LegacyConfigSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=["no_api_key"], allow_null=True)
    stt = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    tts = serializers.ListField(child=serializers.ChoiceField(choices=["server", "browser"]))
    voices = serializers.ListField(child=serializers.CharField())


class PreferenceOutputSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=Mode.choices)
    voice = serializers.CharField()
    push_to_talk = serializers.BooleanField(
        help_text="The user talks only while holding a button (or the space bar): their own "
        "choice, else the administrator's default."
    )


class VoiceConfigApi(APIView):
    @extend_schema_serializer(component_name="VoiceConfig")
    class OutputSerializer(serializers.Serializer[Any]):
        realtime = _RealtimeConfigSerializer()
        legacy = _LegacyConfigSerializer()
        preference = PreferenceOutputSerializer()

    @extend_schema(
        summary="What this user can use: realtime and legacy availability, voices, preference",
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        config = selectors.client_config(user=request_user(request))
        return Response(self.OutputSerializer(config).data)


class VoicePreferencesApi(APIView):
    @extend_schema_serializer(component_name="PreferencesUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        mode = serializers.ChoiceField(choices=Mode.choices, required=False)
        voice = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=50,
            help_text="One of the configured voices; blank for the default voice.",
        )
        push_to_talk = serializers.BooleanField(
            required=False,
            allow_null=True,
            help_text="Talk only while holding a button; null: follow the administrator's default.",
        )

        def validate_voice(self, voice: str) -> str:
            config = selectors.voice_config_get()
            if voice and voice not in {*config.voices, *config.tts_voices}:
                raise serializers.ValidationError(
                    f"{voice!r} is not one of the voices offered here.",
                    code=ErrorCode.INVALID_VOICE,
                )
            return voice

    @extend_schema(
        summary="The user's mode, voice and push-to-talk",
        responses={200: PreferenceOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        preference = selectors.preference_data(user=request_user(request))
        return Response(PreferenceOutputSerializer(preference).data)

    @extend_schema(
        summary="Change the user's mode, voice and/or push-to-talk",
        request=InputSerializer,
        responses={200: PreferenceOutputSerializer, **ERRORS},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preference_services.preference_update(
            user=request_user(request), **serializer.validated_data
        )
        preference = selectors.preference_data(user=request_user(request))
        return Response(PreferenceOutputSerializer(preference).data)


class ApiKeyOutputSerializer(serializers.Serializer[Any]):
    configured = serializers.BooleanField()
    masked = serializers.CharField(allow_null=True, help_text="e.g. sk-…abcd; never the key.")


class ApiKeyApi(APIView):
    @extend_schema_serializer(component_name="ApiKeyUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        api_key = serializers.RegexField(
            OPENAI_KEY_PATTERN,
            write_only=True,
            help_text="An OpenAI API key (sk-…). Stored encrypted; never returned.",
            error_messages={"invalid": "That does not look like an OpenAI API key (sk-…)."},
        )

    @extend_schema(
        summary="Whether the user has their own key (masked)",
        responses={200: ApiKeyOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        api_key = selectors.api_key_data(user=request_user(request))
        return Response(ApiKeyOutputSerializer(api_key).data)

    @extend_schema(
        summary="Set or replace the user's own OpenAI key",
        request=InputSerializer,
        responses={200: ApiKeyOutputSerializer, **ERRORS},
    )
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request_user(request)
        key_services.api_key_set(user=user, **serializer.validated_data)
        return Response(ApiKeyOutputSerializer(selectors.api_key_data(user=user)).data)

    @extend_schema(
        summary="Remove the user's own key", responses={200: ApiKeyOutputSerializer, **ERRORS}
    )
    def delete(self, request: Request) -> Response:
        user = request_user(request)
        key_services.api_key_clear(user=user)
        return Response(ApiKeyOutputSerializer(selectors.api_key_data(user=user)).data)
