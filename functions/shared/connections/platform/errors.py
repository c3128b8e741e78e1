"""What can go wrong for a caller, in the product's words. The HTTP layer maps these to status codes in one
place (connections.platform.http); the domain raises them without knowing about HTTP."""


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}
        self.retry_after = retry_after


class InvalidInput(ServiceError):
    status = 422
    code = "invalid_input"


class NotSignedIn(ServiceError):
    status = 401
    code = "not_signed_in"


class Forbidden(ServiceError):
    """The caller may not do this; the message says why and what to do."""

    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooManyRequests(ServiceError):
    """Too many tries (connection codes that match nothing or sent at once, emailed codes asked for): retry
    after the Retry-After header."""

    status = 429
    code = "too_many_requests"
