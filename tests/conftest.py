"""Shared fixtures: the trained NLU (once), real PostgreSQL and Redis servers, runtimes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bot import PROJECT_ROOT
from bot.config import Settings
from bot.runtime import Runtime, build_runtime, load_nlu
from nlu import BuiltinNLU
from tests.servers import postgres_server, redis_server

LANGUAGES = ("en", "ar", "fr", "ha")
BACKENDS = ("sqlite", "postgres+redis")


@pytest.fixture(scope="session")
def builtin_nlu() -> BuiltinNLU:
    return load_nlu(Settings(_env_file=None, cache_dir=PROJECT_ROOT / "var" / "cache"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def fresh_postgres_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def settings_for(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, **overrides: Any
) -> Settings:
    # Operators "always" answer in tests unless a test sets hours, so replies do not depend
    # on the time of day the suite runs.
    values: dict[str, Any] = {
        "cache_dir": PROJECT_ROOT / "var" / "cache",
        "operator_hours": "always",
        # each test its own keys (else PostgreSQL tests would share the cwd's var/keys)
        "hotline_key_dir": tmp_path / "keys",
    }
    if backend == "sqlite":
        values["database_url"] = f"sqlite:///{tmp_path / 'hotline.db'}"
    elif backend == "postgres+redis":
        values["database_url"] = fresh_postgres_database(request.getfixturevalue("postgres_url"))
        redis = request.getfixturevalue("redis_url")
        values["redis_url"] = redis
    else:
        raise ValueError(backend)
    values.update(overrides)
    return Settings(_env_file=None, **values)


RuntimeFactory = Callable[..., Awaitable[Runtime]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_runtime(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, builtin_nlu: BuiltinNLU
) -> AsyncIterator[RuntimeFactory]:
    """Builds runtimes on the test's backend; the same settings each call (a restart)."""
    built: list[Runtime] = []
    settings_holder: dict[str, Settings] = {}

    async def factory(**overrides: Any) -> Runtime:
        if "settings" not in settings_holder or overrides:
            settings_holder["settings"] = settings_for(backend, tmp_path, request, **overrides)
        runtime = await build_runtime(settings_holder["settings"], builtin_nlu=builtin_nlu)
        if backend == "postgres+redis" and not built:  # a clean Redis for each test
            await runtime.sessions._redis.flushdb()  # type: ignore[attr-defined]
        built.append(runtime)
        return runtime

    yield factory
    for runtime in built:
        await runtime.close()


@pytest.fixture
async def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return await make_runtime()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    from server import create_app

    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
