"""Who is asking: a plain value the use cases take, built from the verified sign-in claims by the HTTP
glue (platform.http.caller), so that no use case depends on HTTP."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The signed-in user, from the claims API Gateway's JWT authorizer verified (never from the body)."""

    user_id: str
    email: str | None
    email_verified: bool
