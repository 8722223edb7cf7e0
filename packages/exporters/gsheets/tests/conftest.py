"""A stand-in of the Google Sheets v4 and Drive v3 APIs on 127.0.0.1, and gspread pointed at it.

No Google host is reachable here, so the real gspread client (with google-auth's service-account
flow: a signed JWT exchanged at ``token_uri``) talks to a small HTTP server that keeps
spreadsheets in memory and answers the calls gspread makes in the shapes the APIs document
(``test_gsheets_standin.py`` checks every call against Google's own discovery documents). Every
call is logged with its request and answer.
"""

from __future__ import annotations

import http.server
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_CELL = re.compile(r"([A-Z]*)(\d*)")


def _column(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _letters(number: int) -> str:
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(65 + rest) + text
    return text


def _shown(value: Any) -> str:
    """A cell as the API gives it back (FORMATTED_VALUE): numbers as a sheet shows them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return f"{value:.15g}"
    return str(value)


class StandIn:
    """The state of the stand-in: spreadsheets, Drive files, tokens given, and the calls seen."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, dict[str, Any]] = {}
        self.tokens: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.ids = itertools.count(1)
        self.base_url = ""
        #: gspread's HTTP client class, pointed at this stand-in.
        self.http_client: type = object
        #: A service-account key file whose ``token_uri`` is this stand-in's.
        self.account = Path()

    # ------------------------------------------------------------------ model
    def new_spreadsheet(self, title: str) -> dict[str, Any]:
        sid = f"sheet{next(self.ids):04d}"
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        book = {"id": sid, "title": title, "created": now,
                "sheets": [{"sheetId": 0, "title": "Sheet1", "rows": 1000, "cols": 26, "cells": []}]}  # fmt: skip
        self.spreadsheets[sid] = book
        return book

    def sheet_values(self, sid: str, title: str | None = None) -> list[list[str]]:
        """The cells of a sheet as text (the first sheet unless ``title``)."""
        book = self.spreadsheets[sid]
        sheet = next(s for s in book["sheets"] if title in (None, s["title"]))
        return [list(row) for row in sheet["cells"]]

    def _meta(self, book: dict[str, Any]) -> dict[str, Any]:
        return {
            "spreadsheetId": book["id"],
            "properties": {"title": book["title"], "locale": "en_US", "timeZone": "Etc/GMT", "autoRecalc": "ON_CHANGE"},
            "sheets": [
                {"properties": {"sheetId": s["sheetId"], "title": s["title"], "index": i, "sheetType": "GRID",
                                "gridProperties": {"rowCount": s["rows"], "columnCount": s["cols"]}}}
                for i, s in enumerate(book["sheets"])
            ],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book['id']}/edit",
        }  # fmt: skip

    def _range(self, book: dict[str, Any], text: str) -> tuple[dict[str, Any], int, int]:
        """The sheet and the 0-based (row, column) where an A1 range starts."""
        title, bang, cells = text.rpartition("!")
        if not bang:
            names = {s["title"] for s in book["sheets"]}
            title, cells = (text, "") if text.strip("'").replace("''", "'") in names else ("", text)
        title = title.strip("'").replace("''", "'") if title else book["sheets"][0]["title"]
        sheet = next((s for s in book["sheets"] if s["title"] == title), None)
        if sheet is None:
            raise _Error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
        start = cells.split(":")[0]
        match = _CELL.fullmatch(start)
        if not match:
            raise _Error(400, f"Unable to parse range: {text}", "INVALID_ARGUMENT")
        col = _column(match.group(1)) - 1 if match.group(1) else 0
        row = int(match.group(2)) - 1 if match.group(2) else 0
        return sheet, row, col

    @staticmethod
    def _write(sheet: dict[str, Any], row: int, col: int, values: list[list[Any]]) -> dict[str, Any]:
        width = max((len(v) for v in values), default=0)
        if col + width > sheet["cols"] or row + len(values) > sheet["rows"]:
            raise _Error(400, f"Range ('{sheet['title']}'!{_letters(col + width)}{row + len(values)}) exceeds grid "
                              f"limits. Max rows: {sheet['rows']}, max columns: {sheet['cols']}", "INVALID_ARGUMENT")
        cells = sheet["cells"]
        while len(cells) < row + len(values):
            cells.append([])
        for r, line in enumerate(values):
            target = cells[row + r]
            while len(target) < col + len(line):
                target.append("")
            for c, value in enumerate(line):
                target[col + c] = _shown(value)
        for target in cells:
            while target and target[-1] == "":
                target.pop()
        while cells and not cells[-1]:
            cells.pop()
        end = f"{_letters(col + width)}{row + len(values)}"
        return {"updatedRange": f"{sheet['title']}!{_letters(col + 1)}{row + 1}:{end}",
                "updatedRows": len(values), "updatedColumns": width,
                "updatedCells": sum(len(v) for v in values)}  # fmt: skip

    # ------------------------------------------------------------------ API
    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if path == "/token":
            token = f"tok-{next(self.ids)}"
            self.tokens.append(token)
            return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        if path == "/drive/v3/files" and method == "GET":
            match = re.search(r"name = \"((?:[^\"\\]|\\.)*)\"", query.get("q", [""])[0])
            wanted = match.group(1).replace('\\"', '"') if match else None
            files = [{"kind": "drive#file", "id": b["id"], "name": b["title"], "createdTime": b["created"],
                      "modifiedTime": b["created"]} for b in self.spreadsheets.values() if wanted in (None, b["title"])]
            return 200, {"kind": "drive#fileList", "incompleteSearch": False, "files": files}  # fmt: skip
        if path == "/drive/v3/files" and method == "POST":
            book = self.new_spreadsheet(body["name"])
            return 200, {"kind": "drive#file", "id": book["id"], "name": book["title"], "mimeType": body["mimeType"]}
        match = re.fullmatch(r"/drive/v3/files/([^/]+)", path)
        if match and method == "DELETE":
            if self.spreadsheets.pop(match.group(1), None) is None:
                raise _Error(404, f"File not found: {match.group(1)}.", "NOT_FOUND")
            return 204, None
        match = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path)
        if not match:
            raise _Error(404, f"no such endpoint: {method} {path}", "NOT_FOUND")
        book = self.spreadsheets.get(match.group(1))
        if book is None:
            raise _Error(404, "Requested entity was not found.", "NOT_FOUND")
        rest = match.group(2)
        if rest == "" and method == "GET":
            return 200, self._meta(book)
        if rest == ":batchUpdate" and method == "POST":
            return 200, {"spreadsheetId": book["id"], "replies": [self._request(book, r) for r in body["requests"]]}
        match = re.fullmatch(r"/values/([^/:]+)(:append)?", rest)
        if not match:
            raise _Error(404, f"no such endpoint: {method} {path}", "NOT_FOUND")
        text = urllib.parse.unquote(match.group(1))
        sheet, row, col = self._range(book, text)
        if method == "GET" and not match.group(2):
            answer: dict[str, Any] = {"range": f"{sheet['title']}!A1:{_letters(sheet['cols'])}{sheet['rows']}",
                                      "majorDimension": "ROWS"}  # fmt: skip
            values = [r[col:] for r in sheet["cells"][row:]]
            if any(values):
                answer["values"] = values
            return 200, answer
        if method == "PUT" and not match.group(2):
            return 200, {"spreadsheetId": book["id"], **self._write(sheet, row, col, body["values"])}
        if method == "POST" and match.group(2):
            last = len(sheet["cells"])
            needed = last + len(body["values"]) - sheet["rows"]
            if needed > 0:
                sheet["rows"] += needed  # appending grows the grid, as the API does
            table = f"{sheet['title']}!A1:{_letters(sheet['cols'])}{max(last, 1)}"
            updates = {"spreadsheetId": book["id"], **self._write(sheet, last, col, body["values"])}
            return 200, {"spreadsheetId": book["id"], "tableRange": table, "updates": updates}
        raise _Error(404, f"no such endpoint: {method} {path}", "NOT_FOUND")

    def _request(self, book: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        if "updateSheetProperties" in request:
            update = request["updateSheetProperties"]
            props = update["properties"]
            sheet = next(s for s in book["sheets"] if s["sheetId"] == props.get("sheetId", 0))
            for field in update["fields"].split(","):
                field = field.strip().replace("/", ".")  # gspread writes gridProperties/columnCount
                if field == "title":
                    sheet["title"] = props["title"]
                elif field == "gridProperties.columnCount":
                    sheet["cols"] = props["gridProperties"]["columnCount"]
                elif field == "gridProperties.rowCount":
                    sheet["rows"] = props["gridProperties"]["rowCount"]
                else:
                    raise _Error(400, f"unsupported field mask {field}", "INVALID_ARGUMENT")
            return {}
        if "addSheet" in request:
            props = request["addSheet"].get("properties", {})
            grid = props.get("gridProperties", {})
            sheet = {"sheetId": next(self.ids), "title": props.get("title", f"Sheet{len(book['sheets']) + 1}"),
                     "rows": grid.get("rowCount", 1000), "cols": grid.get("columnCount", 26), "cells": []}  # fmt: skip
            book["sheets"].append(sheet)
            return {"addSheet": {"properties": {"sheetId": sheet["sheetId"], "title": sheet["title"],
                                                "index": len(book["sheets"]) - 1, "sheetType": "GRID",
                                                "gridProperties": {"rowCount": sheet["rows"],
                                                                   "columnCount": sheet["cols"]}}}}  # fmt: skip
        raise _Error(400, f"unsupported request {sorted(request)}", "INVALID_ARGUMENT")


class _Error(Exception):
    def __init__(self, code: int, message: str, status: str) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _handler(state: StandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # else each answer waits ~40 ms for its ACK

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = self.headers.get("Content-Type", "")
            body: Any = None
            if raw and "json" in kind:
                body = json.loads(raw)
            elif raw:
                body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
            call = {"method": method, "path": url.path, "query": query, "body": body,
                    "authorization": self.headers.get("Authorization", "")}  # fmt: skip
            try:
                if url.path != "/token" and call["authorization"].removeprefix("Bearer ") not in state.tokens:
                    raise _Error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
                status, answer = state.handle(method, url.path, query, body)
            except _Error as exc:
                status, answer = exc.code, {"error": {"code": exc.code, "message": exc.message, "status": exc.status}}
            call.update(status=status, answer=answer)
            state.calls.append(call)
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


def _service_account(path: Path, token_uri: str) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "nel-test", "private_key_id": "k1", "private_key": pem.decode(),
        "client_email": "nel-export@nel-test.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri,
    }))  # fmt: skip
    return path


@pytest.fixture
def sheets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in, running; ``sheets.account`` is a service-account key file whose token_uri is its own."""
    import gspread.http_client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = StandIn()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class StandInHTTPClient(gspread.http_client.HTTPClient):
        """gspread's own client with Google's API hosts replaced by the stand-in."""

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for host in ("https://sheets.googleapis.com", "https://www.googleapis.com"):
                if endpoint.startswith(host):
                    endpoint = state.base_url + endpoint[len(host):]
            return super().request(method, endpoint, *args, **kwargs)

    state.http_client = StandInHTTPClient
    state.account = _service_account(tmp_path / "service-account.json", state.base_url + "/token")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
