"""A stand-in for the provider's REST API: records each request, answers as Messages, Calls and
Recordings do (a recording's audio served, its DELETE taken).

Handed to the app as its HTTP client (PROVIDER_HTTP_CLIENT), so the real `twilio` Client
builds every request (URL, region, edge, auth, fields) and nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from requests import ConnectionError as RequestsConnectionError
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from app.messaging import MediaResponse

RECORDING = re.compile(r"/Accounts/(AC[0-9a-f]{32})/Recordings/(RE[0-9a-f]{32})\.(mp3|json)$")


@dataclass(frozen=True)
class Sent:
    """One request the app made to the provider."""

    method: str
    url: str
    data: dict[str, Any]
    auth: tuple[str, str] | None

    @property
    def kind(self) -> str:
        if self.url.endswith("/Messages.json"):
            return "sms"
        if self.url.endswith("/Calls.json"):
            return "call"
        if RECORDING.search(self.url):
            return "media" if self.method == "GET" else "delete" if self.method == "DELETE" else "?"
        return "?"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class FakeTwilio(HttpClient):
    """Answer Messages, Calls and Recordings like the provider; or refuse them (`refuse`), fail the
    next few of a kind as a network error would (`fail`), or be `unreachable`."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("tests.fake_twilio"), is_async=False)
        self.sent: list[Sent] = []
        # By kind ("sms", "call"): the HTTP status, provider error code and message to answer with.
        self.refuse: dict[str, tuple[int, int, str]] = {}
        self.unreachable = False
        # By kind: how many of the next such requests fail as if the provider could not be reached.
        self.fail: dict[str, int] = {}
        # The recordings the provider holds, by id: (account, audio).
        self.recordings: dict[str, tuple[str, bytes]] = {}
        # Every recording's audio as it was recorded, kept after the provider's copy is deleted.
        self.recorded: dict[str, bytes] = {}
        self._numbers = itertools.count(1)

    def store_recording(self, account_sid: str, recording_sid: str, seconds: int) -> bytes:
        """Keep a recording as the provider does after a <Record>; return its audio (MP3-shaped bytes)."""
        noise = hashlib.sha256(recording_sid.encode()).digest()
        audio = b"ID3\x04\x00" + noise * (seconds * 32)  # about 1 kB a second
        self.recordings[recording_sid] = (account_sid, audio)
        self.recorded[recording_sid] = audio
        return audio

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self.unreachable:
            raise RequestsConnectionError("the provider is not reachable (stand-in)")
        request = Sent(method, uri, dict(data or {}), auth)
        self.sent.append(request)
        if self.fail.get(request.kind, 0) > 0:
            self.fail[request.kind] -= 1
            raise RequestsConnectionError("the provider did not answer in time (stand-in)")
        if request.kind in self.refuse:
            status, code, message = self.refuse[request.kind]
            body = {"code": code, "message": message, "status": status, "more_info": ""}
            return Response(status, json.dumps(body))
        if request.kind in ("media", "delete"):
            return self._recording(request)
        number = next(self._numbers)
        if request.kind == "sms":
            sid = f"SM{number:032x}"
            return Response(201, json.dumps({"sid": sid, "status": "queued", "to": data and data.get("To")}))
        if request.kind == "call":
            sid = f"CA{number:032x}"
            return Response(201, json.dumps({"sid": sid, "status": "queued", "to": data and data.get("To")}))
        return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))

    def _recording(self, request: Sent) -> Response:
        found = RECORDING.search(request.url)
        assert found is not None
        account, sid = found.group(1), found.group(2)
        held = self.recordings.get(sid)
        if held is None or held[0] != account:
            return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))
        if request.kind == "media":
            return MediaResponse(200, held[1], {"Content-Type": "audio/mpeg"})
        del self.recordings[sid]
        return Response(204, "")

    def of_kind(self, kind: str) -> list[Sent]:
        return [request for request in self.sent if request.kind == kind]


class NoInternet:
    """Refuse (and count) every connection that would leave this machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[object] = []
        real_connect = socket.socket.connect

        def connect(sock: socket.socket, address: Any) -> Any:
            host = address[0] if isinstance(address, tuple) else address
            if sock.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
                return real_connect(sock, address)
            self.attempts.append(address)
            raise OSError(f"tests may not reach {address}")

        def real_client(*_args: Any, **_kwargs: Any) -> Any:
            self.attempts.append("TwilioHttpClient")
            raise OSError("tests may not use the provider's real HTTP client")

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(TwilioHttpClient, "request", real_client)
