"""Tools during a call: Python functions the host project registers with `@voice_tool`, which
the assistant may call in both modes, with the calling user's permissions only.

    # myapp/voice_tools.py (imported at start-up, like admin.py)
    from voice.tools import ToolContext, voice_tool

    @voice_tool(line="Looked up the order {number}")
    def order_status(context: ToolContext, number: str) -> dict:
        \"\"\"The delivery status of one of the user's orders.\"\"\"
        order = Order.objects.get(user=context.user, number=number)
        return {"status": order.status}

Running a call is `voice.services.tool_calls.tool_call_run`; the admin turns tools on and off
(`ToolSetting`).
"""

from django.utils.module_loading import autodiscover_modules

from voice.tools.registry import (
    Tool,
    ToolContext,
    ToolError,
    chat_tool_definitions,
    enabled_tools,
    realtime_tool_definitions,
    registered_tool,
    registered_tools,
    tool_build,
    unregister,
    voice_tool,
)
from voice.tools.schema import ArgumentsError, ToolDefinitionError

TOOLS_MODULE = "voice_tools"


def autodiscover() -> None:
    """Import every installed app's `voice_tools` module (the built-ins are voice's own)."""
    autodiscover_modules(TOOLS_MODULE)


__all__ = [
    "ArgumentsError",
    "Tool",
    "ToolContext",
    "ToolDefinitionError",
    "ToolError",
    "autodiscover",
    "chat_tool_definitions",
    "enabled_tools",
    "realtime_tool_definitions",
    "registered_tool",
    "registered_tools",
    "tool_build",
    "unregister",
    "voice_tool",
]
