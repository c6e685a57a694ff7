"""One list of error codes (voice.errors.ErrorCode): the code base raises no other, and the
schema and docs/api.md list every one under its status."""

import ast
import re
from pathlib import Path

from voice.errors import ErrorCode, codes_by_status, error_table_markdown
from voice.exception_handlers import _GENERIC_ERRORS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = {str(code): code.status for code in ErrorCode}
TABLE = re.compile(r"<!-- error-table:start -->\n(.*?)\n<!-- error-table:end -->", re.DOTALL)


def literal_codes(source: str, where: str = "<test>") -> dict[str, str]:
    """Every `code="…"` keyword given as a string literal in `source`, with where it is."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.keyword) and _is_code_literal(node):
            assert isinstance(node.value, ast.Constant)
            found[str(node.value.value)] = f"{where}:{node.value.lineno}"
    return found


def codes_in_source() -> dict[str, str]:
    """Every literal `code="…"` in the app packages (DRF's ValidationError would take one)."""
    found: dict[str, str] = {}
    for package in ("voice", "realtime", "legacy_voice"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found |= literal_codes(path.read_text(), str(path.relative_to(ROOT)))
    return found


def _is_code_literal(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.keyword)
        and node.arg == "code"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def codes_named_in_source() -> set[str]:
    """Every `ErrorCode.<NAME>` the app packages use."""
    names = set()
    for package in ("voice", "realtime", "legacy_voice"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"\bErrorCode\.([A-Z_]+)\b", path.read_text()))
    return names


def test_every_code_is_given_through_the_enum_never_as_a_bare_string():
    # The scan sees a literal where there is one...
    assert literal_codes('raise ValidationError("No.", code="invalid_voice")') == {
        "invalid_voice": "<test>:1"
    }
    # ...and the code base has none: a typo in a string would be a code no table lists.
    assert codes_in_source() == {}


def test_every_code_the_code_base_names_exists():
    named = codes_named_in_source()

    assert named, "the scan found no codes at all: it is broken"
    assert named - set(ErrorCode.__members__) == set()


def test_the_handlers_generic_codes_are_under_their_own_status():
    for status, (code, _) in _GENERIC_ERRORS.items():
        assert code.status == status, code


def test_a_voice_error_takes_its_status_from_its_code():
    from voice.errors import VoiceError

    assert VoiceError("Gone.", code=ErrorCode.CALL_ENDED).status == 409
    assert VoiceError("Odd.").code is ErrorCode.INVALID_REQUEST


def test_docs_api_md_lists_exactly_the_codes_of_voice_errors():
    """docs/api.md's table is written by `make docs`; this fails when someone edits either."""
    match = TABLE.search((ROOT / "docs" / "api.md").read_text())

    assert match, "docs/api.md has no error-table markers"
    assert match.group(1) == error_table_markdown(), "docs/api.md is stale: run `make docs`"


def test_the_schema_lists_every_code_under_its_status(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()

    code = schema["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    enum_name = code["allOf"][0]["$ref"].rsplit("/", 1)[1]  # drf-spectacular names enums
    assert set(schema["components"]["schemas"][enum_name]["enum"]) == set(DOCUMENTED)
    responses = schema["paths"]["/api/realtime/session"]["post"]["responses"]
    for code in ErrorCode:
        assert f"`{code}`: {code.when}" in responses[str(code.status)]["description"]


def test_every_operation_documents_every_error_status(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            missing = {str(status) for status in codes_by_status()} - set(operation["responses"])
            assert missing == set(), f"{method.upper()} {path}"
