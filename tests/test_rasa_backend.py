"""The optional Rasa backend against a real Rasa 3.6 server.

A session fixture builds (once) the Rasa virtual environment with scripts/rasa_env.sh, trains a
small DIET model from a subset of nlu/data (few epochs), serves it on loopback and points
`nlu.rasa_backend.RasaNLU` at it. Nothing is mocked and nothing is skipped: without the Rasa
environment the fixture builds it (a few minutes, once per machine).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bot import PROJECT_ROOT
from nlu import BuiltinNLU, ParseResult
from nlu.rasa_backend import RasaNLU
from nlu.training_data import load_examples
from tests.servers import free_port

pytestmark = pytest.mark.rasa

INTENTS = frozenset(
    {
        "greet", "goodbye", "thanks", "affirm", "deny", "register_return", "return_info",
        "ask_services", "health", "protection", "emergency", "detention", "basic_needs",
        "case_status", "talk_to_human", "change_language", "stop", "delete_data", "inform",
    }
)  # fmt: skip
FALLBACK = "nlu_fallback"
PER_INTENT_PER_FILE = 12
TEST_EPOCHS = 15
ENV_SCRIPT = PROJECT_ROOT / "scripts" / "rasa_env.sh"
CONFIG = PROJECT_ROOT / "nlu" / "rasa" / "config.yml"
DATA_DIR = PROJECT_ROOT / "nlu" / "data"

MESSAGES = [
    "I want to go home to Nigeria",
    "abeg i wan go back Naija",
    "my brother is in detention in Zwara",
    "hello",
    "je veux rentrer au Mali",
    "nbi nrja3 l bladi",
    "أريد العودة إلى السودان",
    "ina so in koma gida",
    "my number is +218 91 234 5678",
    "thank you",
]


def _rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


@pytest.fixture(scope="session")
def rasa_bin() -> Path:
    """The rasa CLI of bench/.rasa-venv, built by scripts/rasa_env.sh when missing."""
    done = subprocess.run(
        ["bash", str(ENV_SCRIPT)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, f"scripts/rasa_env.sh failed:\n{done.stderr[-4000:]}"
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.is_file(), path
    return path


def _yaml_block(examples: list[str]) -> str:
    # plain text lines (annotations stripped) inside a literal block
    return "".join(f"    - {text}\n" for text in examples)


def write_subset(dest: Path, per_intent: int = PER_INTENT_PER_FILE) -> dict[str, list[str]]:
    """The first `per_intent` examples of every intent of every nlu/data file, as Rasa YAML."""
    dest.mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[str]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for ex in load_examples(DATA_DIR):
        key = (ex.variant, ex.intent)
        text = " ".join(ex.text.split())
        if counts[key] >= per_intent or not text or "\n" in text:
            continue
        counts[key] += 1
        by_intent[ex.intent].append(text)
    lines = ['version: "3.1"\n', "nlu:\n"]
    for intent, texts in sorted(by_intent.items()):
        lines.append(f"- intent: {intent}\n  examples: |\n{_yaml_block(texts)}")
    (dest / "nlu.yml").write_text("".join(lines), encoding="utf-8")
    return dict(by_intent)


def write_config(dest: Path, epochs: int) -> Path:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component.get("name") == "DIETClassifier":
            component["epochs"] = epochs
    path = dest / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class RasaServer:
    url: str
    training: dict[str, list[str]]
    log: Path


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "<no log>"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def rasa_server(rasa_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    work = tmp_path_factory.mktemp("rasa")
    training = write_subset(work / "data")
    config = write_config(work, TEST_EPOCHS)
    env = _rasa_env()
    env["RASA_CACHE_DIRECTORY"] = str(work / "cache")
    train = subprocess.run(
        [
            str(rasa_bin), "train", "nlu",
            "--config", str(config),
            "--nlu", str(work / "data"),
            "--out", str(work / "models"),
            "--fixed-model-name", "hotline-test",
        ],
        cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    model = work / "models" / "hotline-test.tar.gz"
    assert train.returncode == 0 and model.is_file(), (
        f"rasa train failed ({train.returncode}):\n{train.stdout[-3000:]}\n{train.stderr[-3000:]}"
    )

    port = free_port()
    log_path = work / "rasa-server.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                str(rasa_bin), "run", "--enable-api",
                "-m", str(model),
                "-i", "127.0.0.1", "--port", str(port),
            ],
            cwd=work, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        ready = False
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"rasa run exited:\n{_tail(log_path)}"
            try:
                status = httpx.get(f"{url}/status", timeout=2.0)
                if status.status_code == 200 and (
                    status.json().get("model_id") or status.json().get("model_file")
                ):
                    ready = True
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert ready, f"rasa run did not answer /status in time:\n{_tail(log_path)}"
        yield RasaServer(url, training, log_path)
    finally:
        _stop(proc)
        shutil.rmtree(work / "cache", ignore_errors=True)


async def test_raw_rasa_answer_has_the_parse_shape(rasa_server: RasaServer) -> None:
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.post(f"{rasa_server.url}/model/parse", json={"text": "hello"})
    assert response.status_code == 200
    data = response.json()
    assert data["text"] == "hello"
    assert set(data["intent"]) >= {"name", "confidence"}
    assert data["intent"]["name"] in INTENTS | {FALLBACK}
    assert isinstance(data["intent_ranking"], list) and data["intent_ranking"]
    assert isinstance(data["entities"], list)


async def test_intents_come_from_rasa_the_rest_from_the_builtin(
    rasa_server: RasaServer, builtin_nlu: BuiltinNLU
) -> None:
    backend = RasaNLU(rasa_server.url, builtin_nlu, timeout=10.0)
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            for text in MESSAGES:
                result = await backend.parse(text)
                raw = (
                    await http.post(f"{rasa_server.url}/model/parse", json={"text": text})
                ).json()
                builtin = builtin_nlu.parse_sync(text)

                assert isinstance(result, ParseResult)
                assert result.text == text
                # the intent, its confidence and the ranking are Rasa's
                assert result.intent == raw["intent"]["name"]
                assert result.intent in INTENTS | {FALLBACK}
                assert result.confidence == pytest.approx(raw["intent"]["confidence"], abs=1e-6)
                assert [n for n, _ in result.intent_ranking] == [
                    r["name"] for r in raw["intent_ranking"]
                ]
                assert {n for n, _ in result.intent_ranking} <= INTENTS | {FALLBACK}
                assert all(0.0 <= c <= 1.0 for _, c in result.intent_ranking)
                # language, script and entities are the built-in's
                assert result.language == builtin.language
                assert result.script == builtin.script
                assert result.entities == builtin.entities
                # the Rasa answer shape the server gives out
                shaped = result.to_rasa_dict()
                assert shaped["intent"]["name"] == raw["intent"]["name"]
                assert set(shaped) >= {"text", "intent", "intent_ranking", "entities", "language"}
                assert all(
                    set(e) == {"entity", "value", "start", "end", "extractor"}
                    for e in shaped["entities"]
                )
        assert backend.failures == 0
    finally:
        await backend.aclose()

    # the built-in's entities reach the caller (Rasa was trained without entity recognition)
    async with RasaNLU(rasa_server.url, builtin_nlu, timeout=10.0) as backend:
        result = await backend.parse("I am from Nigeria, I am in Zwara")
    assert backend.failures == 0
    kinds = {e.entity for e in result.entities}
    assert {"country", "city"} <= kinds


async def test_rasa_model_learnt_the_training_subset(
    rasa_server: RasaServer, builtin_nlu: BuiltinNLU
) -> None:
    """A sanity check that answers are Rasa's model and not noise: on its own training
    examples a few-epoch DIET gets most intents right."""
    backend = RasaNLU(rasa_server.url, builtin_nlu, timeout=10.0)
    sample = [(t, i) for i, texts in rasa_server.training.items() for t in texts[::6]]
    try:
        right = 0
        for text, intent in sample:
            right += (await backend.parse(text)).intent == intent
    finally:
        await backend.aclose()
    assert backend.failures == 0
    assert right / len(sample) >= 0.8, f"{right}/{len(sample)}"


async def test_dead_rasa_falls_back_to_builtin_without_logging_text(
    builtin_nlu: BuiltinNLU, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    backend = RasaNLU(dead, builtin_nlu, timeout=1.0)
    text = "my brother Ibrahim is in prison in Misrata, help"
    try:
        with caplog.at_level(logging.WARNING, logger="nlu.rasa_backend"):
            result = await backend.parse(text)
    finally:
        await backend.aclose()
    assert result == builtin_nlu.parse_sync(text)
    assert backend.failures == 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings, "a warning is logged when Rasa is unavailable"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Ibrahim" not in logged and "Misrata" not in logged and "prison" not in logged


async def test_dead_rasa_is_not_asked_again_until_retry_after(builtin_nlu: BuiltinNLU) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with RasaNLU(dead, builtin_nlu, timeout=1.0, retry_after=60.0) as backend:
        for text in ("hello", "thank you", "I want to go home"):
            assert await backend.parse(text) == builtin_nlu.parse_sync(text)
    assert (backend.failures, backend.skipped) == (1, 2)
    async with RasaNLU(dead, builtin_nlu, timeout=1.0, retry_after=0.0) as backend:
        for text in ("hello", "thank you"):
            assert await backend.parse(text) == builtin_nlu.parse_sync(text)
    assert (backend.failures, backend.skipped) == (2, 0)


async def test_rasa_error_answer_falls_back(
    rasa_server: RasaServer, builtin_nlu: BuiltinNLU, caplog: pytest.LogCaptureFixture
) -> None:
    # a real Rasa server, wrong path: Rasa answers 404, the backend uses the built-in intent
    backend = RasaNLU(f"{rasa_server.url}/no-such-prefix", builtin_nlu, timeout=5.0)
    try:
        with caplog.at_level(logging.WARNING, logger="nlu.rasa_backend"):
            result = await backend.parse("thank you")
    finally:
        await backend.aclose()
    assert result == builtin_nlu.parse_sync("thank you")
    assert backend.failures == 1
    assert "HTTP 404" in caplog.text
    assert json.dumps("thank you") not in caplog.text
