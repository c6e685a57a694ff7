"""The admin's switches for the registered tools (`ToolSetting`): a tool with no row is on."""

from voice.models import ToolSetting
from voice.tools import registered_tools


def tool_settings_sync() -> int:
    """Give every registered tool a row (on), so the admin lists them all; returns how many
    rows were added. Rows of tools no longer registered are kept, with their switch."""
    known = set(ToolSetting.objects.values_list("name", flat=True))
    missing = [ToolSetting(name=t.name) for t in registered_tools() if t.name not in known]
    ToolSetting.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def tool_settings_switch(*, names: list[str], enabled: bool) -> int:
    """Turn these tools on or off; returns how many rows changed."""
    return (
        ToolSetting.objects.filter(name__in=names).exclude(enabled=enabled).update(enabled=enabled)
    )
