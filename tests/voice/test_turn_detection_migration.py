"""Migration 0006 carries the admin's turn detection JSON over to the fields that replace it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("voice", "0006_conversations_and_tools")]
AFTER = [("voice", "0007_turn_taking")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def convert(turn_detection):
    """The configuration after 0006, from one saved with `turn_detection` before it."""
    old_apps = migrate(BEFORE)
    old_apps.get_model("voice", "VoiceConfig").objects.create(pk=1, turn_detection=turn_detection)
    new_apps = migrate(AFTER)
    return new_apps.get_model("voice", "VoiceConfig").objects.get(pk=1)


def test_null_becomes_manual_turns():
    assert convert(None).turn_detection == "manual"


def test_semantic_vad_keeps_its_eagerness_and_flags():
    config = convert({"type": "semantic_vad", "eagerness": "high", "interrupt_response": False})

    assert (config.turn_detection, config.vad_eagerness) == ("semantic_vad", "high")
    assert config.vad_interrupt_response is False and config.vad_create_response is True


def test_server_vad_settings_are_kept_within_the_new_bounds():
    config = convert(
        {
            "type": "server_vad",
            "threshold": 1,
            "silence_duration_ms": 50,
            "prefix_padding_ms": 250,
            "idle_timeout_ms": 9000,
            "create_response": False,
        }
    )

    assert config.turn_detection == "server_vad"
    assert config.vad_threshold == 0.95
    assert config.vad_silence_duration_ms == 200
    assert config.vad_prefix_padding_ms == 250
    assert config.vad_create_response is False and config.vad_interrupt_response is True


def test_going_back_restores_the_json():
    migrate(AFTER)
    from voice.models import VoiceConfig

    VoiceConfig.objects.create(turn_detection="semantic_vad", vad_eagerness="low")

    old = migrate(BEFORE).get_model("voice", "VoiceConfig").objects.get(pk=1)

    assert old.turn_detection == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }
    migrate(AFTER)
