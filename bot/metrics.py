"""Prometheus metrics at GET /metrics — only with the METRICS_TOKEN bearer token, never public.

Counters and histograms are this process's (each web process is scraped on its own, as
Prometheus does with several targets): messages in by channel and outcome, replies out by
channel and status, turn and NLU latency. Gauges are read from the database at each scrape,
so every process reports the same shared figures: the outbox's depth, messages given up on
and send retries, active handoff cases and the longest wait for an operator.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from bot.http import runtime_of
from bot.storage.db import Database
from bot.storage.models import ACTIVE_HANDOFF, Direction, Handoff, Message, MessageStatus, as_utc

router = APIRouter()

_WAITING_IN_OUTBOX = (MessageStatus.QUEUED, MessageStatus.SENDING)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.messages_in = Counter(
            "hotline_messages_in",
            "Messages received, by channel and outcome (new, duplicate)",
            ["channel", "status"],
            registry=registry,
        )
        self.messages_out = Counter(
            "hotline_messages_out",
            "Replies produced, by channel and status (answered, queued, replayed)",
            ["channel", "status"],
            registry=registry,
        )
        self.turn_seconds = Histogram(
            "hotline_turn_seconds",
            "Time to handle a message, lock wait included",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.nlu_seconds = Histogram(
            "hotline_nlu_seconds",
            "Time to parse a message (language, intent, entities)",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1),
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "hotline_outbox_depth",
            "Messages waiting in the outbox (queued or being sent), by channel",
            ["channel"],
            registry=registry,
        )
        self.held = Gauge(
            "hotline_outbox_held",
            "WhatsApp messages a template stood in for, waiting for the person to write",
            ["channel"],
            registry=registry,
        )
        self.send_failures = Gauge(
            "hotline_outbox_undeliverable",
            "Stored messages the outbox gave up on, by channel",
            ["channel"],
            registry=registry,
        )
        self.send_retries = Gauge(
            "hotline_outbox_retries",
            "Send attempts beyond the first, over stored messages, by channel",
            ["channel"],
            registry=registry,
        )
        self.cases_open = Gauge(
            "hotline_cases_active",
            "Active handoff cases, by status and priority",
            ["status", "priority"],
            registry=registry,
        )
        self.cases_waiting = Gauge(
            "hotline_cases_waiting",
            "Active cases waiting for an operator's answer",
            registry=registry,
        )
        self.longest_wait = Gauge(
            "hotline_cases_longest_wait_seconds",
            "How long the longest-waiting person has waited for an operator's answer",
            registry=registry,
        )

    async def refresh(self, db: Database) -> None:
        """The shared figures, from the database (indexed aggregates, no rows loaded)."""
        async with db.session() as session:
            outbox = await session.execute(
                select(Message.channel, Message.status, func.count(), func.sum(Message.attempts))
                .where(Message.direction == Direction.OUTBOUND)
                .where(
                    Message.status.in_(
                        (
                            *_WAITING_IN_OUTBOX,
                            MessageStatus.HELD,
                            MessageStatus.UNDELIVERABLE,
                            MessageStatus.SENT,
                        )
                    )
                    | (Message.attempts > 1)
                )
                .group_by(Message.channel, Message.status)
            )
            cases = await session.execute(
                select(
                    Handoff.status,
                    Handoff.priority,
                    func.count(),
                    func.count(Handoff.waiting_since),
                    func.min(Handoff.waiting_since),
                )
                .where(Handoff.status.in_(ACTIVE_HANDOFF))
                .group_by(Handoff.status, Handoff.priority)
            )
            outbox_rows, case_rows = outbox.all(), cases.all()
        gauges = (self.outbox_depth, self.held, self.send_failures, self.send_retries)
        for gauge in (*gauges, self.cases_open):
            gauge.clear()
        for channel, status, count, attempts in outbox_rows:
            if status in _WAITING_IN_OUTBOX:
                self.outbox_depth.labels(channel).inc(count)
            if status == MessageStatus.HELD:
                self.held.labels(channel).inc(count)
            if status == MessageStatus.UNDELIVERABLE:
                self.send_failures.labels(channel).inc(count)
            self.send_retries.labels(channel).inc(max(int(attempts or 0) - int(count), 0))
        now = datetime.now(UTC)
        waiting, oldest = 0, None
        for status, priority, count, waiting_count, since in case_rows:
            self.cases_open.labels(status, priority).set(count)
            waiting += waiting_count
            if since is not None:
                since = as_utc(since)
                oldest = since if oldest is None else min(oldest, since)
        self.cases_waiting.set(waiting)
        self.longest_wait.set((now - oldest).total_seconds() if oldest else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    token = runtime.settings.metrics_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:  # no token set: there are no metrics to see
        raise HTTPException(404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
    registry: Metrics = runtime.engine.metrics
    await registry.refresh(runtime.db)
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
