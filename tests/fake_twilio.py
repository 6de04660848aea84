"""A stand-in for the provider's REST API: records each request, answers as Messages and Calls do.

Handed to the app as its HTTP client (PROVIDER_HTTP_CLIENT), so the real `twilio` Client
builds every request (URL, region, edge, auth, fields) and nothing leaves the machine.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from requests import ConnectionError as RequestsConnectionError
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response


@dataclass(frozen=True)
class Sent:
    """One request the app made to the provider."""

    method: str
    url: str
    data: dict[str, Any]
    auth: tuple[str, str] | None

    @property
    def kind(self) -> str:
        return (
            "sms"
            if self.url.endswith("/Messages.json")
            else "call"
            if self.url.endswith("/Calls.json")
            else "?"
        )

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


class FakeTwilio(HttpClient):
    """Answer Messages and Calls like the provider; or refuse them (`refuse`), or be `unreachable`."""

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("tests.fake_twilio"), is_async=False)
        self.sent: list[Sent] = []
        # By kind ("sms", "call"): the HTTP status, provider error code and message to answer with.
        self.refuse: dict[str, tuple[int, int, str]] = {}
        self.unreachable = False
        self._numbers = itertools.count(1)

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
        if request.kind in self.refuse:
            status, code, message = self.refuse[request.kind]
            body = {"code": code, "message": message, "status": status, "more_info": ""}
            return Response(status, json.dumps(body))
        number = next(self._numbers)
        if request.kind == "sms":
            sid = f"SM{number:032x}"
            return Response(201, json.dumps({"sid": sid, "status": "queued", "to": data and data.get("To")}))
        if request.kind == "call":
            sid = f"CA{number:032x}"
            return Response(201, json.dumps({"sid": sid, "status": "queued", "to": data and data.get("To")}))
        return Response(404, json.dumps({"code": 20404, "message": "not found", "status": 404}))

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
