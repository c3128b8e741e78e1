"""Links from the emails to the console's pages (web/src/router.ts): the console's URL (CONSOLE_URL, the
stack's ConsoleUrl; the local stack's own address) and one of its hash routes, every part percent-encoded.
The routes live after '#', so a code in a link never reaches a server's logs. No console URL, no link: the
emails then only say where in the console to go."""

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from connections.platform.settings import email_settings


def _part(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class ConsolePages:
    base: str | None  # the console's URL, e.g. https://console.example.com (a trailing slash or not)

    def _page(self, path: str, **query: str) -> str | None:
        if not self.base:
            return None
        return f"{self.base.rstrip('/')}/#{path}" + (f"?{urlencode(query, quote_via=quote)}" if query else "")

    def memberships(self) -> str | None:
        return self._page("/memberships")

    def sessions(self) -> str | None:
        """The driver's charging sessions."""
        return self._page("/sessions")

    def verify(self, connection_id: str, code: str) -> str | None:
        """The driver's Verify page, which confirms the code on opening."""
        return self._page(f"/memberships/{_part(connection_id)}/verify", code=code)

    def requests(self, organization_id: str, connection_id: str) -> str | None:
        return self._page(
            f"/organizations/{_part(organization_id)}/connections/{_part(connection_id)}/requests"
        )

    def stations(self, organization_id: str) -> str | None:
        return self._page(f"/organizations/{_part(organization_id)}/stations")


def console_pages() -> ConsolePages:
    return ConsolePages(email_settings().console_url)
