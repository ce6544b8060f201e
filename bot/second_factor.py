"""The second factor: TOTP codes (RFC 6238, with pyotp) and one-time recovery codes.

A code is accepted in the 30-second step it belongs to and one step either side (clocks of
phones drift); the step it matched is returned so the caller can refuse it, and every code
of an earlier step, from then on. Recovery codes are random (60 bits) and kept as SHA-256
hashes bound to the account.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno

ISSUER = "hotline"
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps either side of now
RECOVERY_CODES = 8
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code: an SVG data URI (the console's CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def spaced(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code `code` is (within the window), or None."""
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    moment = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    current = int(moment // STEP_SECONDS)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # every candidate is compared (no early return), in constant time
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), digits):
            found = step
    return found


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(count)
    ]


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_recovery_code(code)) == 12


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch in _RECOVERY_ALPHABET)


def recovery_hash(operator_id: int, code: str) -> str:
    normalised = normalise_recovery_code(code)
    return hashlib.sha256(f"hotline-recovery:{operator_id}:{normalised}".encode()).hexdigest()
