"""What a SigV4-signed AWS call says about itself, read without verifying the signature (the local stack only).

Pure on purpose: tests/unit reads it, and tests/unit never imports moto, which local/faults.py serves."""

from __future__ import annotations


def service_of(authorization: str) -> str | None:
    """The service of a SigV4 Authorization header's credential scope, or None.

    Every botocore call carries `Credential=<key>/<date>/<region>/<service>/aws4_request`."""
    for part in authorization.replace(",", " ").split():
        if part.startswith("Credential="):
            scope = part[len("Credential=") :].split("/")
            return scope[3] if len(scope) == 5 else None
    return None
