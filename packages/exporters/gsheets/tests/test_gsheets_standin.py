"""The stand-in answers the calls gspread makes as Google documents them.

Google's discovery documents of the Sheets v4 and Drive v3 APIs (shipped with Google's own API
client, ``google-api-python-client``) describe every method: its HTTP method and path, its query
parameters, and the schemas of its request and response bodies. Every call gspread makes to the
stand-in must be a documented method with documented parameters, and both what gspread sends and
what the stand-in answers must fit the documented schemas (no field the API does not have, each
of the documented type).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from nel_exporter_gsheets import GsheetsExporter

from nel_core.testing.contracts import ResultExporterContract


def _discovery(name: str) -> dict[str, Any]:
    import googleapiclient

    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    document: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    return document


def _methods(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(resource.get("methods", {}).values())
    for inner in resource.get("resources", {}).values():
        found.extend(_methods(inner))
    return found


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\+?\w+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


class Api:
    """One API's documented methods, matched by HTTP method and path."""

    def __init__(self, name: str, prefix: str) -> None:
        self.doc = _discovery(name)
        self.prefix = prefix
        self.methods = _methods(self.doc)

    def method(self, verb: str, path: str) -> dict[str, Any] | None:
        relative = path.removeprefix(self.prefix)
        for method in self.methods:
            templates = {method["path"], method.get("flatPath", method["path"])}
            if method["httpMethod"] == verb and any(_pattern(t).fullmatch(relative) for t in templates):
                return method
        return None

    def check(self, value: Any, schema: dict[str, Any], where: str) -> None:
        """Fail when ``value`` does not fit ``schema`` (a field the API lacks, or a wrong type)."""
        if value is None:
            return  # JSON null is a field left unset, which every field may be
        if "$ref" in schema:
            self.check(value, self.doc["schemas"][schema["$ref"]], f"{where}<{schema['$ref']}>")
            return
        kind = schema.get("type")
        if kind == "object":
            assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, inner in value.items():
                if key in properties:
                    self.check(inner, properties[key], f"{where}.{key}")
                else:
                    assert extra is not None, f"{where}: '{key}' is not a field of the documented schema"
                    self.check(inner, extra, f"{where}.{key}")
        elif kind == "array":
            assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
            for index, inner in enumerate(value):
                self.check(inner, schema.get("items", {}), f"{where}[{index}]")
        elif kind == "string":
            assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
            if "enum" in schema:
                assert value in schema["enum"], f"{where}: {value!r} is not one of {schema['enum']}"
        elif kind == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer"
        elif kind == "number":
            assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: expected a number"
        elif kind == "boolean":
            assert isinstance(value, bool), f"{where}: expected a boolean"


@pytest.fixture(scope="module")
def apis() -> dict[str, Api]:
    return {"sheets": Api("sheets.v4", "/"), "drive": Api("drive.v3", "/drive/v3/")}


def _scenario(sheets: Any, tmp_path: Path) -> None:
    """What the exporter does, and the rest of gspread's calls the stand-in answers."""
    import gspread

    settings = {"service_account_file": str(sheets.account), "spreadsheet_name": "Documented"}
    contract = ResultExporterContract()
    GsheetsExporter(settings, http_client=sheets.http_client).export(contract.items(tmp_path / "a", count=7))
    GsheetsExporter(settings, http_client=sheets.http_client).export(contract.items(tmp_path / "b", count=2))
    client = gspread.service_account(filename=str(sheets.account), http_client=sheets.http_client)
    book = client.open("Documented")
    assert client.open_by_key(book.id).title == "Documented"
    extra = book.add_worksheet("second", rows=5, cols=3)
    extra.append_row(["a", 1])
    assert extra.get_all_values() == [["a", "1"]]
    assert [w.title for w in book.worksheets()] == ["Sheet1", "second"]
    with pytest.raises(gspread.SpreadsheetNotFound):
        client.open_by_key("missing")
    client.del_spreadsheet(book.id)
    with pytest.raises(gspread.SpreadsheetNotFound):
        client.open("Documented")


def test_every_call_is_a_documented_method_with_documented_shapes(
    sheets: Any, tmp_path: Path, apis: dict[str, Api]
) -> None:
    """Each call gspread made is a documented method; its parameters, body and the answer fit the documents."""
    _scenario(sheets, tmp_path)
    seen = set()
    for call in sheets.calls:
        if call["path"] == "/token":
            continue
        api = apis["drive"] if call["path"].startswith("/drive/") else apis["sheets"]
        method = api.method(call["method"], call["path"])
        assert method is not None, f"{call['method']} {call['path']} is not a documented method"
        seen.add(method["id"])
        documented = set(method.get("parameters", {})) | set(api.doc.get("parameters", {}))
        assert set(call["query"]) <= documented, (method["id"], set(call["query"]) - documented)
        if call["body"] is not None:
            assert "request" in method, f"{method['id']} takes no body"
            api.check(call["body"], method["request"], f"{method['id']} request")
        if call["status"] < 300 and call["answer"] is not None:
            api.check(call["answer"], method["response"], f"{method['id']} response")
        if call["status"] >= 400:
            assert set(call["answer"]) == {"error"} and {"code", "message", "status"} <= set(call["answer"]["error"])
    assert seen >= {
        "drive.files.list", "drive.files.create", "drive.files.delete", "sheets.spreadsheets.get",
        "sheets.spreadsheets.batchUpdate", "sheets.spreadsheets.values.get", "sheets.spreadsheets.values.update",
        "sheets.spreadsheets.values.append",
    }  # fmt: skip


def test_the_token_exchange_is_a_signed_service_account_grant(sheets: Any, tmp_path: Path) -> None:
    """gspread gets its token by the JWT-bearer grant: signed with the account's key, for the API scopes."""
    from cryptography.hazmat.primitives import serialization
    from google.auth import jwt

    _scenario(sheets, tmp_path)
    account = json.loads(sheets.account.read_text())
    private = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    grants = [c for c in sheets.calls if c["path"] == "/token"]
    assert grants
    for call in grants:
        assert call["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        # google-auth names Google's token endpoint as the audience, wherever token_uri points.
        audiences = [account["token_uri"], "https://oauth2.googleapis.com/token"]
        claims = jwt.decode(call["body"]["assertion"], certs=public.decode(), audience=audiences)
        assert claims["iss"] == account["client_email"]
        assert set(claims["scope"].split()) == {
            "https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"
        }  # fmt: skip
    api_calls = [c for c in sheets.calls if c["path"] != "/token"]
    assert all(c["authorization"].removeprefix("Bearer ") in sheets.tokens for c in api_calls)
