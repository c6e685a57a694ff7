"""The user's API token, for integrations (`Authorization: Token <token>`)."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from voice import selectors
from voice.schema import ERRORS
from voice.services import tokens as token_services
from voice.users import request_user

_NO_STORE = {"Cache-Control": "no-store"}


class ApiTokenOutputSerializer(serializers.Serializer[Any]):
    configured = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)


class ApiTokenApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "voice_token"

    @extend_schema_serializer(component_name="ApiTokenCreated")
    class CreatedSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField(
            help_text="Shown this once, never again: send it as `Authorization: Token <token>`."
        )

    @extend_schema(
        summary="Whether the user has an API token (never the token)",
        responses={200: ApiTokenOutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(
            ApiTokenOutputSerializer(selectors.api_token_data(user=request_user(request))).data
        )

    @extend_schema(
        summary="Create or rotate the user's API token (the old one stops working)",
        request=None,
        responses={201: CreatedSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        token = token_services.api_token_rotate(user=request_user(request))
        body = {"configured": True, "created_at": token.created, "token": token.key}
        # The only time the token is sent: keep it out of every cache on the way.
        return Response(self.CreatedSerializer(body).data, status=201, headers=_NO_STORE)

    @extend_schema(
        summary="Revoke the user's API token", request=None, responses={204: None, **ERRORS}
    )
    def delete(self, request: Request) -> Response:
        token_services.api_token_revoke(user=request_user(request))
        return Response(status=204)
