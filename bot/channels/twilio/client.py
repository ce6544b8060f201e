"""The twilio library's REST client, pointed at a configurable API host.

`rest_client(settings)` gives a real `twilio.rest.Client` whose HTTP goes through twilio's own
asynchronous client (use the `*_async` methods), with every Twilio URL rewritten to
`TWILIO_API_BASE_URL` — the real API by default, a local fake Twilio in tests. The SMS/WhatsApp
sender and the voice channel share it. Import it where a request is made: the twilio library's
HTTP stack costs about 13 MB a process, which a deployment without Twilio need not carry.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.channels.twilio.account import TWILIO_API_BASE_URL, TwilioNotConfigured, configured
from bot.config import Settings

DEFAULT_TIMEOUT = 15.0  # seconds; the outbox retries a request that timed out


class TwilioApiHttpClient(AsyncTwilioHttpClient):
    """twilio's aiohttp client, sending every Twilio URL to `base_url` (path and query kept).

    One instance serves one logical request (a client per send): it keeps the last response so
    the caller can read headers the twilio exceptions drop, such as Retry-After. Without pooled
    connections aiohttp opens and closes its session per request, so nothing needs closing.
    """

    def __init__(self, base_url: str = TWILIO_API_BASE_URL, timeout: float = DEFAULT_TIMEOUT):
        super().__init__(pool_connections=False, timeout=timeout)
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path
        self.last_response: Response | None = None

    def route(self, url: str) -> str:
        """The URL to call for a Twilio API URL: the configured host, the same path."""
        parts = urlsplit(url)
        return urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )

    async def request(  # twilio's signature, typed loosely there
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's interface)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            # As a header: aiohttp deprecates its BasicAuth object, which twilio would build.
            # twilio's request log leaves out headers named Authorization.
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {credentials}"}
        response = await super().request(
            method,
            self.route(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_response = response
        return response


def rest_client(settings: Settings, http_client: TwilioApiHttpClient | None = None) -> Client:
    """A twilio REST client for the configured account and API host (async methods only)."""
    if not configured(settings):
        raise TwilioNotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
    assert settings.twilio_auth_token is not None
    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        http_client=http_client or TwilioApiHttpClient(settings.twilio_api_base_url),
    )
