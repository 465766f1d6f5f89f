"""The local stack's fault injection tells which AWS service a call is for from its SigV4 credential scope."""

from __future__ import annotations

from local.sigv4 import service_of


def test_the_service_is_read_from_the_sigv4_credential_scope() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )

    assert service_of(header) == "secretsmanager"
    assert service_of("") is None
    assert service_of("AWS4-HMAC-SHA256 Credential=broken") is None
