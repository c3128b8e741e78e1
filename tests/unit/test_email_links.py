"""The emails link to the console's pages (web/src/router.ts's hash routes), from the console URL the stack
gives the emails' functions: every part encoded, the HTML escaped, and no link when no URL is set."""

import html
import re

import pytest

from connections.email import rendering
from connections.email.links import ConsolePages
from connections.email.notices import NEW_REQUESTS, Notice
from connections.email.stale_stations import STALE_STATIONS
from tests.unit.test_email_templates import EXAMPLES

CONSOLE = ConsolePages("https://console.example.com")
DRIVER_NOTICES = [Notice.APPROVED, Notice.DENIED, Notice.REMOVED, Notice.EXPIRED, Notice.EXPIRING]


def _render(name: str, link: str | None) -> rendering.Rendered:
    return rendering.render(name, connection="Employees", organization="Acme", **EXAMPLES[name], link=link)


def _hrefs(rendered: rendering.Rendered) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', rendered.html)]


def test_the_pages_are_the_consoles_hash_routes():
    assert CONSOLE.memberships() == "https://console.example.com/#/memberships"
    assert CONSOLE.sessions() == "https://console.example.com/#/sessions"
    assert (
        CONSOLE.verify("c-1", "K7QM-3XTP")
        == "https://console.example.com/#/memberships/c-1/verify?code=K7QM-3XTP"
    )
    assert (
        CONSOLE.requests("o-1", "c-1")
        == "https://console.example.com/#/organizations/o-1/connections/c-1/requests"
    )
    assert CONSOLE.stations("o-1") == "https://console.example.com/#/organizations/o-1/stations"
    # the local stack's URL ends in a slash: one slash before the '#' either way
    assert ConsolePages("http://127.0.0.1:3000/").memberships() == "http://127.0.0.1:3000/#/memberships"


def test_every_part_of_a_link_is_encoded():
    link = CONSOLE.verify("a/b?c#d e", "x&y=z")
    assert link == "https://console.example.com/#/memberships/a%2Fb%3Fc%23d%20e/verify?code=x%26y%3Dz"
    assert (
        CONSOLE.requests("o/../x", "c")
        == "https://console.example.com/#/organizations/o%2F..%2Fx/connections/c/requests"
    )


def test_no_console_url_no_link():
    nowhere = ConsolePages(None)
    assert [
        nowhere.memberships(),
        nowhere.verify("c", "K"),
        nowhere.requests("o", "c"),
        nowhere.stations("o"),
        nowhere.sessions(),
    ] == [None] * 5
    for name in rendering.names():
        rendered = _render(name, None)
        assert "href=" not in rendered.html and "http" not in rendered.text, name


@pytest.mark.parametrize(
    ("name", "link"),
    [
        *((notice, CONSOLE.memberships()) for notice in DRIVER_NOTICES),
        (Notice.VERIFY_EMAIL, CONSOLE.verify("c-1", "ABCD-EFGH")),
        (NEW_REQUESTS, CONSOLE.requests("o-1", "c-1")),
        (STALE_STATIONS, CONSOLE.stations("o-1")),
    ],
)
def test_each_email_links_its_page_in_both_parts(name, link):
    rendered = _render(name, link)
    assert _hrefs(rendered) == [link]
    assert link in rendered.text


def test_a_link_is_escaped_in_the_html_part():
    # every part the service adds is percent-encoded; the autoescape guards the rest of the URL too
    link = ConsolePages('https://console.example.com/?a=1&b="><script>').verify("c-1", "K")
    rendered = _render(Notice.VERIFY_EMAIL, link)
    assert "<script>" not in rendered.html and "a=1&amp;b=&#34;&gt;&lt;script&gt;" in rendered.html
    assert _hrefs(rendered) == [link]
