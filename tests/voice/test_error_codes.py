"""One list of error codes (voice.errors.CODES): the code base raises no other, and the schema
lists every one under its status."""

import ast
from pathlib import Path

from voice.errors import CODES
from voice.exception_handlers import _STATUS_CODES

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = {code: status for status, codes in CODES.items() for code in codes}


def codes_in_source() -> dict[str, str]:
    """Every `code="…"` keyword given as a literal in the app packages, with where it is."""
    found = {}
    for package in ("voice", "realtime", "legacy_voice"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if _is_code_literal(node):
                    found[node.value.value] = f"{path.relative_to(ROOT)}:{node.value.lineno}"
    return found


def _is_code_literal(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.keyword)
        and node.arg == "code"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def test_every_code_raised_in_the_code_base_is_documented():
    raised = codes_in_source()

    assert raised, "the scan found no codes at all: it is broken"
    undocumented = {code: where for code, where in raised.items() if code not in DOCUMENTED}
    assert undocumented == {}


def test_the_handlers_status_codes_are_documented_under_their_status():
    for status, (code, _) in _STATUS_CODES.items():
        assert DOCUMENTED.get(code) == status, code


def test_the_schema_lists_every_code_under_its_status(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()

    code = schema["components"]["schemas"]["ErrorDetail"]["properties"]["code"]
    enum_name = code["allOf"][0]["$ref"].rsplit("/", 1)[1]  # drf-spectacular names enums
    assert set(schema["components"]["schemas"][enum_name]["enum"]) == set(DOCUMENTED)
    responses = schema["paths"]["/api/realtime/session"]["post"]["responses"]
    for code, status in DOCUMENTED.items():
        assert f"`{code}`" in responses[str(status)]["description"]


def test_every_operation_documents_every_error_status(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/json").json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            missing = {str(status) for status in CODES} - set(operation["responses"])
            assert missing == set(), f"{method.upper()} {path}"
