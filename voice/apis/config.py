"""The user's view of the configuration, their preferences and their own OpenAI key."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voice import selectors
from voice.errors import ErrorCode
from voice.models import Mode
from voice.schema import ERRORS
from voice.serializers import (
    ApiKeyOutputSerializer,
    ClientConfigSerializer,
    PreferenceOutputSerializer,
)
from voice.services import keys as key_services
from voice.services import preferences as preference_services
from voice.users import request_user
from voice.validators import OPENAI_KEY_PATTERN


class VoiceConfigApi(APIView):
    OutputSerializer = ClientConfigSerializer

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
