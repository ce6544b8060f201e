"""Random and hostile requests to every route of the app; counts the answers that are 5xx,
the error answers that echo a personal value, and the log lines that hold one.

    .venv/bin/python bench/fuzz_routes.py [--per-route 5] [--seed 1]

The app runs in-process (httpx's ASGI transport) on a fresh SQLite file with every channel
configured. Webhooks are signed as their provider signs them (so the payloads reach the
parsing, not the signature check), /api/v1 gets an administrator's bearer token and the
console an administrator's session with its CSRF token. Payloads are the providers' real
shapes with random fields replaced by hostile values (tests/hostile.py: lone surrogates, bidi
controls, script tags, SQL, NUL bytes, numbers too big for any column, JSON nested 20,000
deep, wrong types), or random JSON, forms and bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi.routing import iter_route_contexts  # noqa: E402

from tests.console_support import api_token, create_operator, csrf_from  # noqa: E402
from tests.hostile import (  # noqa: E402
    HOSTILE_TEXTS,
    HUGE_NUMBERS,
    PERSONAL,
    VOICE_PATHS,
    Hostile,
    deep_json,
    encode,
    hostile_runtime,
    telegram_callback,
    telegram_update,
    twilio_message,
    values_in,
    voice_call,
    whatsapp_payload,
)

SKIPPED = {"/console/events", "/console/logout"}  # an endless stream; signing ourselves out
PASSWORD = "fuzzing password 1 long enough"


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Fuzzer:
    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.rng = rng
        self.names = names

    def text(self) -> str:
        rng = self.rng
        choice = rng.random()
        if choice < 0.6:
            return rng.choice(HOSTILE_TEXTS)
        if choice < 0.8:
            size = rng.randint(0, 40)
            return "".join(
                chr(rng.choice([rng.randint(0, 0x2FF), rng.randint(0, 0x10FFFF)]))
                for _ in range(size)
            )
        return rng.choice(["", " ", "1", "0", "-1", "²", "١٢", "1e308", "NaN", str(10**40), "true"])

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        choice = rng.random()
        if choice < 0.45 or depth > 3:
            return self.text()
        if choice < 0.65:
            return rng.choice([*HUGE_NUMBERS, 0, 1, 42, None, False, float("1e-300")])
        if choice < 0.8:
            return [self.value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {self.key(): self.value(depth + 1) for _ in range(rng.randint(0, 4))}

    def key(self) -> str:
        return self.rng.choice(self.names) if self.rng.random() < 0.7 else self.text()

    def mutate(self, payload: Any, times: int = 2) -> Any:
        """`payload` with a few of its fields (at any depth) replaced or removed."""
        payload = copy.deepcopy(payload)
        for _ in range(self.rng.randint(1, times)):
            node = payload
            while True:
                keys = list(node) if isinstance(node, dict) else list(range(len(node)))
                if not keys:
                    break
                key = self.rng.choice(keys)
                child = node[key]
                if isinstance(child, (dict, list)) and child and self.rng.random() < 0.6:
                    node = child
                    continue
                if isinstance(node, dict) and self.rng.random() < 0.15:
                    del node[key]
                else:
                    node[key] = self.value()
                break
        return payload

    def body_bytes(self, template: Any) -> bytes:
        rng = self.rng
        choice = rng.random()
        if choice < 0.65:
            return encode(self.mutate(template))
        if choice < 0.75:
            return deep_json(rng.choice([40, 1000, 20_000]))
        if choice < 0.85:
            return encode(self.value())
        return rng.choice(
            [b"\xff\xfe\xfa", b"{not json", b'{"a": NaN}', b'{"a": 1e999}', b"9" * 5000, b""]
        )

    def form(self, template: dict[str, str]) -> dict[str, str]:
        params = dict(template)
        for _ in range(self.rng.randint(1, 3)):
            key = self.rng.choice([*params, self.key()])
            params[key] = self.text() if self.rng.random() < 0.8 else str(self.value())
        return params

    def segment(self) -> str:
        hostile = quote(self.text(), safe="", errors="surrogatepass")
        return self.rng.choice(["2", "3", "999999", "0", "-1", str(2**70), "1e308", hostile])


def field_names(app: Any) -> list[str]:
    """Property and parameter names in the app's OpenAPI schema: keys worth sending."""
    names: set[str] = set()
    stack: list[Any] = [app.openapi()]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            names.update(item.get("properties") or {})
            if isinstance(item.get("name"), str):
                names.add(item["name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return sorted(names)


def route_list(app: Any) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        methods = set(getattr(context.original_route, "methods", None) or ())
        path = context.path or ""
        if path in SKIPPED:
            continue
        for method in sorted(methods - {"HEAD"}):
            found.append((method, path))
    return found


async def one_request(
    fuzz: Fuzzer, hostile: Hostile, method: str, path: str, auth: dict[str, str], csrf: str
) -> httpx.Response:
    http, rng = hostile.http, fuzz.rng
    if path == "/webhooks/telegram":
        template = telegram_update() if rng.random() < 0.8 else telegram_callback()
        return await hostile.telegram(fuzz.body_bytes(template))
    if path == "/webhooks/whatsapp" and method == "POST":
        return await hostile.whatsapp(fuzz.body_bytes(whatsapp_payload()))
    if path in ("/webhooks/twilio/messaging", "/webhooks/twilio/status"):
        template = twilio_message(MessageStatus="delivered", ErrorCode="30003")
        return await hostile.twilio(path, fuzz.form(template))
    if path.startswith("/webhooks/twilio/voice") and method == "POST":
        target = rng.choice(VOICE_PATHS) if "{" in path else path
        extra = {"Digits": "1", "SpeechResult": PERSONAL["name"], "CallDuration": "12"}
        return await hostile.twilio(target, fuzz.form(voice_call(**extra)))
    if path == "/webhooks/rest/webhook":
        template = {"sender": "fuzz-1", "message": PERSONAL["name"], "metadata": {"language": "en"}}
        return await hostile.rest(fuzz.body_bytes(template))
    if path == "/model/parse":
        return await hostile.parse(fuzz.body_bytes({"text": PERSONAL["name"], "language": "en"}))
    url = re.sub(r"\{[^}]+\}", lambda _: fuzz.segment(), path)
    # bytes as an attacker sends them: a lone surrogate goes out as its raw UTF-8 bytes
    query = urlencode(
        {fuzz.key(): fuzz.text() for _ in range(rng.randint(0, 3))}, errors="surrogatepass"
    )
    url += f"?{query}" if query else ""
    headers = dict(auth) if path.startswith("/api/") else {"x-csrf-token": csrf}
    if method == "GET":
        return await http.get(url, headers=headers)
    if path.startswith("/api/"):
        body = fuzz.body_bytes({fuzz.key(): fuzz.value() for _ in range(rng.randint(0, 4))})
        headers["content-type"] = "application/json"
        return await http.request(method, url, content=body, headers=headers)
    form = {"csrf_token": csrf, **{fuzz.key(): fuzz.text() for _ in range(rng.randint(0, 5))}}
    headers["content-type"] = "application/x-www-form-urlencoded"
    body = urlencode(form, errors="surrogatepass").encode()
    return await http.request(method, url, content=body, headers=headers)


def _echo_example(response: httpx.Response) -> str:
    value = values_in(response.text)[0]
    at = response.text.find(value)
    around = response.text[max(0, at - 150) : at + 60] if at >= 0 else response.text[:200]
    return f"{response.request.method} {response.request.url.path} {response.status_code}: {around}"


async def main(per_route: int, seed: int) -> dict[str, Any]:
    from server import create_app

    recorder = Recorder()
    logging.getLogger().addHandler(recorder)
    logging.getLogger().setLevel(logging.DEBUG)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await hostile_runtime(f"sqlite:///{Path(tmp) / 'fuzz.db'}")
        app = create_app(runtime=runtime)
        admin = await create_operator(runtime, "fuzz-admin", "admin", PASSWORD)
        for number in range(3):  # other accounts for the id-taking routes to act on
            await create_operator(runtime, f"other-{number}", "operator", PASSWORD)
        auth = {"authorization": f"Bearer {await api_token(runtime, admin)}"}  # token 1
        for number in range(3):  # tokens 2-4: for the revoking routes, not ours
            await api_token(runtime, admin, f"spare-{number}")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            page = await http.get("/console/login")
            await http.post(
                "/console/login",
                data={"username": "fuzz-admin", "password": PASSWORD}
                | {"csrf_token": csrf_from(page.text)},
            )
            csrf = csrf_from((await http.get("/console/account")).text)
            hostile = Hostile(http, runtime)
            fuzz = Fuzzer(random.Random(seed), field_names(app))
            statuses: Counter[int] = Counter()
            server_errors: Counter[str] = Counter()
            echoes: Counter[str] = Counter()
            echo_examples: list[str] = []
            reshown: Counter[str] = Counter()
            routes = route_list(app)
            started = time.perf_counter()
            for _ in range(per_route):
                for method, path in routes:
                    response = await one_request(fuzz, hostile, method, path, auth, csrf)
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        server_errors[f"{method} {path}"] += 1
                    if response.status_code >= 400 and values_in(response.text):
                        if response.headers.get("content-type", "").startswith("text/html"):
                            # a console form shown again with what its operator typed
                            reshown[f"{method} {path}"] += 1
                        else:
                            echoes[f"{method} {path}"] += 1
                            echo_examples.append(_echo_example(response))
            elapsed = time.perf_counter() - started
        await runtime.close()
    leaking = [line for line in recorder.lines if values_in(line)]
    unhandled = [line for line in recorder.lines if "unhandled" in line]
    return {
        "routes": len(routes),
        "requests": sum(statuses.values()),
        "seconds": round(elapsed, 1),
        "5xx": sum(server_errors.values()),
        "5xx_by_route": dict(server_errors),
        "error_answers_echoing_personal_values": sum(echoes.values()),
        "echoes_by_route": dict(echoes),
        "first_echoes": echo_examples[:5],
        "console_forms_reshowing_the_operators_entry_escaped": dict(reshown),
        "log_lines": len(recorder.lines),
        "log_lines_with_personal_values": len(leaking),
        "first_leaking_lines": [line[:300] for line in leaking[:5]],
        "unhandled": sorted({line.splitlines()[0] for line in unhandled}),
        "statuses": dict(sorted(statuses.items())),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-route", type=int, default=5, help="requests per route and method")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    result = asyncio.run(main(options.per_route, options.seed))
    print(json.dumps(result, indent=2, ensure_ascii=False))
