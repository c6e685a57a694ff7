"""Usage and cost, per day or per call, and this month's budget."""

from datetime import UTC
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from voice import selectors
from voice.schema import ERRORS
from voice.users import request_user

MAX_USAGE_DAYS = 366


class UsageQuerySerializer(serializers.Serializer[Any]):
    """`from` is a Python keyword, so the fields are declared here rather than as attributes."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "from": serializers.DateField(
                required=False, help_text="First day (UTC), YYYY-MM-DD; default: the 1st."
            ),
            "to": serializers.DateField(
                required=False, help_text="Last day (UTC), included; default: today."
            ),
            "group": serializers.ChoiceField(choices=["day", "call"], default="day"),
            "user": serializers.RegexField(
                r"^(all|[1-9][0-9]{0,17})$",
                required=False,
                help_text="Staff only: a user id, or `all` for everyone. Default: yourself.",
            ),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.now().astimezone(UTC).date()
        attrs.setdefault("to", today)
        attrs.setdefault("from", attrs["to"].replace(day=1))
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError("`from` must not be after `to`.")
        if (attrs["to"] - attrs["from"]).days >= MAX_USAGE_DAYS:
            raise serializers.ValidationError(f"Ask for at most {MAX_USAGE_DAYS} days at a time.")
        return attrs


class UsageUnitsSerializer(serializers.Serializer[Any]):
    text_in = serializers.IntegerField(help_text="Text input tokens, not cached.")
    text_in_cached = serializers.IntegerField()
    text_out = serializers.IntegerField()
    audio_in = serializers.IntegerField(help_text="Audio input tokens, not cached.")
    audio_in_cached = serializers.IntegerField()
    audio_out = serializers.IntegerField()
    audio_seconds = serializers.DecimalField(max_digits=14, decimal_places=3)
    characters = serializers.IntegerField()


class UsageRowSerializer(serializers.Serializer[Any]):
    date = serializers.DateField(required=False, help_text="With group=day: the UTC day.")
    call = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="With group=call: the call (null once its conversation was deleted).",
    )
    cost = serializers.DecimalField(max_digits=20, decimal_places=6)
    units = UsageUnitsSerializer()

    def to_representation(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row has `date` or `call`, whichever it was grouped by."""
        data = super().to_representation(row)
        return {name: value for name, value in data.items() if name in row}


class BudgetSerializer(serializers.Serializer[Any]):
    monthly_usd = serializers.DecimalField(
        max_digits=10, decimal_places=2, allow_null=True, help_text="null: unlimited."
    )
    spent_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text="This month, of the server's key only."
    )
    resets_at = serializers.DateField(help_text="The 1st of next month, 00:00 UTC.")


class UsageApi(APIView):
    @extend_schema_serializer(component_name="Usage")
    class OutputSerializer(serializers.Serializer[Any]):
        currency = serializers.ChoiceField(choices=["USD"])
        total_cost = serializers.DecimalField(max_digits=20, decimal_places=6)
        results = UsageRowSerializer(many=True)
        budget = BudgetSerializer(allow_null=True, help_text="null with user=all.")

    @extend_schema(
        summary="Usage and cost per day or per call, and this month's budget",
        description=(
            "Costs are USD strings to the micro-dollar, at the prices of the moment each use "
            "was recorded. Days are UTC; budgets count calendar months in UTC and only what "
            "the server's key paid. Staff may pass `user=<id>` or `user=all`."
        ),
        parameters=[UsageQuerySerializer],
        responses={200: OutputSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        subject = selectors.usage_subject(
            viewer=request_user(request), user=query.validated_data.get("user")
        )
        report = selectors.usage_report(
            user=subject,
            start=query.validated_data["from"],
            end=query.validated_data["to"],
            group=query.validated_data["group"],
        )
        budget = selectors.budget_get(user=subject) if subject is not None else None
        data = {"currency": "USD", **report, "budget": budget}
        return Response(self.OutputSerializer(data).data)
