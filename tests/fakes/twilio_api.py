"""A local Twilio REST API for the Messages resource (and the voice resources an operator
taking a call uses: Calls, Queues, Queue Members, Recordings), and Twilio-style webhook signing.

`running_fake_twilio(account_sid, auth_token)` serves `FakeTwilioAPI` on loopback; point
`TWILIO_API_BASE_URL` at the URL it yields and the real twilio client talks to it. It checks
HTTP Basic auth like Twilio (401 otherwise), records every accepted message in `.messages`
(the form parameters as sent) and answers with Twilio's message JSON. `fail_next(...)` makes
the next request fail with Twilio's error JSON.

`signed_post(client, url, params, token)` posts a webhook the way Twilio does, signed with
`X-Twilio-Signature` by the twilio library's own `RequestValidator`.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

from tests.fakes.http import serve_in_thread

API_VERSION = "2010-04-01"


@dataclass(frozen=True, slots=True)
class Failure:
    status_code: int
    code: int
    message: str
    retry_after: float | None = None
    after: int = 0  # requests still to answer normally before this one fails


def twilio_error(
    status_code: int, code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Twilio's error answer (the legacy shape the twilio library parses)."""
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status_code,
        },
        status_code=status_code,
        headers=headers,
    )


class FakeTwilioAPI:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []
        self.requests = 0  # every request to the Messages resource, refused ones included
        self._failures: list[Failure] = []
        self._lock = threading.Lock()  # the server runs in another thread than the test
        # voice: calls placed, queues created and deleted, members dequeued, recordings' audio
        self.calls: list[dict[str, Any]] = []
        self.queues: dict[str, str] = {}  # QueueSid -> friendly name
        self.deleted_queues: list[str] = []
        self.dequeued: list[dict[str, Any]] = []
        self.gone_members: set[str] = set()  # CallSids that hung up: in no queue
        self._dequeued: set[tuple[str, str]] = set()  # (QueueSid, CallSid) dequeued already
        self.recordings: dict[str, bytes] = {}  # RecordingSid -> audio
        self.recording_requests = 0
        self.app = self._build()

    def fail_next(
        self,
        status_code: int,
        code: int,
        message: str,
        retry_after: float | None = None,
        *,
        after: int = 0,
    ) -> None:
        """The next request to create a message (or the one `after` more) fails with this
        Twilio error, with a Retry-After header when `retry_after` is given."""
        with self._lock:
            self._failures.append(Failure(status_code, code, message, retry_after, after))

    def _due_failure(self) -> Failure | None:
        if not self._failures:
            return None
        first = self._failures[0]
        if first.after > 0:
            self._failures[0] = replace(first, after=first.after - 1)
            return None
        return self._failures.pop(0)

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(request.headers.get("authorization", ""), f"Basic {expected}")

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> JSONResponse:
            form = await request.form()
            with self._lock:
                self.requests += 1
                if not self._authorized(request):
                    return twilio_error(401, 20003, "Authenticate")
                if account_sid != self.account_sid:
                    return twilio_error(404, 20404, "The requested resource was not found")
                failure = self._due_failure()
                if failure is not None:
                    headers = (
                        {"Retry-After": f"{failure.retry_after:g}"}
                        if failure.retry_after is not None
                        else None
                    )
                    return twilio_error(failure.status_code, failure.code, failure.message, headers)
            params = {key: str(value) for key, value in form.multi_items()}
            if not params.get("To"):
                return twilio_error(400, 21604, "A 'To' phone number is required.")
            if not params.get("From") and not params.get("MessagingServiceSid"):
                return twilio_error(400, 21603, "A 'From' phone number is required.")
            if not (params.get("Body") or params.get("ContentSid") or params.get("MediaUrl")):
                return twilio_error(400, 21602, "Message body is required.")
            sid = "SM" + secrets.token_hex(16)
            with self._lock:
                self.messages.append({**params, "Sid": sid})
            return JSONResponse(self._message_json(sid, params), status_code=201)

        self._add_voice(app)
        return app

    def _add_voice(self, app: FastAPI) -> None:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"

        def refused(account_sid: str, request: Request) -> JSONResponse | None:
            if not self._authorized(request):
                return twilio_error(401, 20003, "Authenticate")
            if account_sid != self.account_sid:
                return twilio_error(404, 20404, "The requested resource was not found")
            return None

        @app.post(base + "/Calls.json")
        async def create_call(account_sid: str, request: Request) -> JSONResponse:
            form = await request.form()
            if (answer := refused(account_sid, request)) is not None:
                return answer
            params = {key: str(value) for key, value in form.multi_items()}
            if not params.get("To") or not params.get("From"):
                return twilio_error(400, 21201, "To and From are required.")
            if not (params.get("Url") or params.get("Twiml")):
                return twilio_error(400, 21205, "Url or Twiml is required.")
            sid = "CA" + secrets.token_hex(16)
            with self._lock:
                self.calls.append({**params, "Sid": sid})
            body = {
                "sid": sid,
                "account_sid": self.account_sid,
                "status": "queued",
                "to": params["To"],
                "from": params["From"],
                "direction": "outbound-api",
            }
            return JSONResponse(body, status_code=201)

        @app.post(base + "/Queues.json")
        async def create_queue(account_sid: str, request: Request) -> JSONResponse:
            form = await request.form()
            if (answer := refused(account_sid, request)) is not None:
                return answer
            name = str(form.get("FriendlyName") or "")
            if not name or len(name) > 64 or name in self.queues.values():
                return twilio_error(400, 22003, "A queue needs a new FriendlyName.")
            sid = "QU" + secrets.token_hex(16)
            with self._lock:
                self.queues[sid] = name
            body = {
                "sid": sid,
                "account_sid": self.account_sid,
                "friendly_name": name,
                "current_size": 0,
                "max_size": 100,
            }
            return JSONResponse(body, status_code=201)

        @app.delete(base + "/Queues/{queue_sid}.json")
        async def delete_queue(account_sid: str, queue_sid: str, request: Request) -> Response:
            if (answer := refused(account_sid, request)) is not None:
                return answer
            with self._lock:
                if self.queues.pop(queue_sid, None) is None:
                    return twilio_error(404, 20404, "The requested resource was not found")
                self.deleted_queues.append(queue_sid)
            return Response(status_code=204)

        @app.post(base + "/Queues/{queue_sid}/Members/{call_sid}.json")
        async def dequeue(
            account_sid: str, queue_sid: str, call_sid: str, request: Request
        ) -> JSONResponse:
            form = await request.form()
            if (answer := refused(account_sid, request)) is not None:
                return answer
            params = {key: str(value) for key, value in form.multi_items()}
            if not params.get("Url"):
                return twilio_error(400, 20001, "Url is required.")
            with self._lock:
                # Twilio: only the first dequeue from a queue succeeds; a hung-up call is in none
                if call_sid in self.gone_members or (queue_sid, call_sid) in self._dequeued:
                    return twilio_error(400, 20001, "Call is not in the queue.")
                self._dequeued.add((queue_sid, call_sid))
                self.dequeued.append({**params, "QueueSid": queue_sid, "CallSid": call_sid})
            body = {
                "call_sid": call_sid,
                "queue_sid": queue_sid,
                "position": 1,
                "wait_time": 0,
                "date_enqueued": None,
            }
            return JSONResponse(body)

        self._add_recordings(app, refused)

    def _add_recordings(self, app: FastAPI, refused: Any) -> None:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"

        @app.get(base + "/Recordings/{name}")
        async def recording_media(account_sid: str, name: str, request: Request) -> Response:
            with self._lock:
                self.recording_requests += 1
            if (answer := refused(account_sid, request)) is not None:
                return answer
            sid, _, extension = name.partition(".")
            audio = self.recordings.get(sid)
            if audio is None or extension not in ("mp3", "wav"):
                return twilio_error(404, 20404, "The requested resource was not found")
            return Response(audio, media_type="audio/mpeg" if extension == "mp3" else "audio/x-wav")

    def _message_json(self, sid: str, params: dict[str, str]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": params.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if params.get("From") else "accepted",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": params["To"],
            "uri": f"{base}.json",
        }


@contextmanager
def running_fake_twilio(account_sid: str, auth_token: str) -> Iterator[tuple[FakeTwilioAPI, str]]:
    """The fake served on loopback: (the fake, its base URL)."""
    fake = FakeTwilioAPI(account_sid, auth_token)
    with serve_in_thread(fake.app) as base_url:
        yield fake, base_url


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


async def signed_post(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    token: str,
    *,
    public_url: str | None = None,
) -> httpx.Response:
    """POST `params` as a form to `url` (full URL, e.g. http://testserver/webhooks/…), signed
    like Twilio signs it. `public_url`: the URL Twilio called, when the app sits behind a proxy
    (PUBLIC_BASE_URL) — the signature covers that URL, not the one the app sees."""
    signature = twilio_signature(public_url or url, params, token)
    return await client.post(url, data=params, headers={"X-Twilio-Signature": signature})
