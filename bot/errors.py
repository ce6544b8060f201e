"""Domain errors: what a domain refuses, and how the API answers it.

Domains (handoff cases, registrations, accounts, broadcasts) raise these; the console catches
them where it re-shows a form, and the API turns every one into its HTTP answer in one place
(`install_domain_errors`), so routes do not translate errors themselves."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response

from bot.http import http_error


class DomainError(Exception):
    """A request that cannot be done. `status` is the HTTP status the API answers with."""

    status: int = 409

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    def detail(self) -> object:
        """The API answer's `detail` (never a personal value the request did not carry)."""
        return str(self)


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    # answered as any HTTP error of the API is (a 422 keeps the documented list shape)
    return await http_error(request, HTTPException(exc.status, detail=exc.detail()))


def install_domain_errors(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _answer)
