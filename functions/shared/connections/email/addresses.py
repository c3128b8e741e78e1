"""Email addresses the service sends to: one plain address each (no display name, comment, list or
quoting), so an address someone typed can never reach another recipient or add a header."""

import re

# `$` also matches before a trailing line break in Python, so addresses are checked with fullmatch; the
# pattern keeps its anchors for the API's validation (Pydantic's regex engine, where `$` is the very end).
PATTERN = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
MAX_LENGTH = 254
_SENDABLE = re.compile(PATTERN)


def sendable(address: str | None) -> bool:
    return address is not None and len(address) <= MAX_LENGTH and bool(_SENDABLE.fullmatch(address))
