"""Every email template renders, with both parts; what users typed is escaped in the HTML part; a subject
is one header line whatever was typed into it; and the MIME message carries both parts."""

from email import message_from_bytes, policy

import pytest

from connections.email import rendering, ses
from connections.email.notices import NEW_REQUESTS, Notice
from connections.email.stale_stations import STALE_STATIONS

HOSTILE = '<script>alert("x")</script> & "quotes"\r\nBcc: victim@example.com'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;"

# Every email with values as the notify function gives them; each typed value is HOSTILE.
EXAMPLES = {
    Notice.APPROVED: {
        "description": HOSTILE,
        "stations": [HOSTILE, "HQ garage, bay 2"],
        "more_stations": 3,
        "expires_at": "23 December 2026, 12:00 UTC",
    },
    Notice.DENIED: {"message": HOSTILE},
    Notice.REMOVED: {},
    Notice.EXPIRED: {},
    Notice.EXPIRING: {"expires_at": "23 December 2026, 12:00 UTC", "by_code": True},
    Notice.VERIFY_EMAIL: {
        "code": "ABCD-EFGH",
        "email": "pat@acme.example",
        "renewal": False,
        "valid_minutes": 30,
    },
    NEW_REQUESTS: {
        "requests": [
            {
                "email": "pat@acme.example",
                "driver_id": "pat",
                "requested_at": "23 November 2026, 12:00 UTC",
                "confirming": False,
                "answers": [("Employee id", HOSTILE)],
            }
        ],
        "total": 21,
        "more": 20,
        "window_minutes": 15,
    },
    Notice.RECEIPT: {
        "station": HOSTILE,
        "started_at": "23 November 2026, 12:00 UTC",
        "ended_at": "23 November 2026, 13:15 UTC",
        "duration": "1 h 15 min",
        "energy": "12.345 kWh",
        "group": HOSTILE,
        "prices": ["0.50 EUR per session", "0.20 EUR per kWh"],
        "cost": "2.97 EUR",
    },
    STALE_STATIONS: {
        "stations": [
            {
                "name": HOSTILE,
                "station_id": "CP-1",
                "stale_since": "23 November 2026, 12:00 UTC",
                "last_answer": "no answer since 23 November 2026, 12:00 UTC",
            }
        ],
        "stale_minutes": 15,
    },
}


def render(name: str, **overrides) -> rendering.Rendered:
    values = {"connection": HOSTILE, "organization": HOSTILE, "link": None, **EXAMPLES[name], **overrides}
    return rendering.render(name, **values)


def test_every_template_has_an_example_here():
    assert sorted(EXAMPLES) == rendering.names()
    assert set(rendering.names()) == {*Notice, NEW_REQUESTS, STALE_STATIONS}


@pytest.mark.parametrize("name", rendering.names())
def test_each_email_renders_a_subject_and_both_parts(name):
    rendered = render(name, connection="Employees", organization="Acme", station="HQ garage")
    # the stale-station digest is about an organization's stations, a receipt about a station
    about = {STALE_STATIONS: "Acme", Notice.RECEIPT: "HQ garage"}.get(name, "Employees")
    assert rendered.subject and about in rendered.subject
    assert rendered.text.startswith("Hello,") and "automatic message" in rendered.text
    assert rendered.html.startswith("<!doctype html>") and rendered.html.rstrip().endswith("</html>")
    assert "Acme" in rendered.text and "Acme" in rendered.html


@pytest.mark.parametrize("name", rendering.names())
def test_what_users_typed_is_escaped_in_the_html_part(name):
    rendered = render(name)
    assert "<script>" not in rendered.html
    assert ESCAPED in rendered.html
    # the plain text part is not HTML: it shows what was typed
    assert '<script>alert("x")</script>' in rendered.text


@pytest.mark.parametrize("name", rendering.names())
def test_a_subject_is_one_line_whatever_was_typed(name):
    subject = render(name).subject
    assert "\r" not in subject and "\n" not in subject
    assert len(subject) <= rendering.SUBJECT_MAX


def test_one_line_removes_every_kind_of_line_break_and_control_character():
    typed = "A\r\nB\nC\rD\x00E\x1bF\u2028G\u0085H\tI"
    assert rendering.one_line(typed) == "A B C D E F G H I"
    long = rendering.one_line("x" * 500)
    assert long.endswith("…") and len(long) == rendering.SUBJECT_MAX


def test_a_template_missing_a_value_fails_instead_of_sending_a_blank():
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        rendering.render(Notice.DENIED, connection="Employees")


def test_the_message_has_both_parts_and_one_recipient_and_no_injected_header():
    rendered = render(Notice.DENIED)
    raw = ses.mime("pat@acme.example", rendered, sender="no-reply@connections.example")
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"] == "pat@acme.example" and message["Bcc"] is None
    assert message["From"] == "Connections <no-reply@connections.example>"
    assert message["Subject"] == rendered.subject and message["Auto-Submitted"] == "auto-generated"
    # (lines end in CRLF on the wire, as SMTP wants them)
    for part, expected in (("plain", rendered.text), ("html", rendered.html)):
        content = message.get_body((part,)).get_content()
        assert content.replace("\r\n", "\n") == expected.replace("\r\n", "\n")


def test_the_code_email_shows_the_code_and_the_address():
    rendered = render(Notice.VERIFY_EMAIL, connection="Employees", organization="Acme")
    assert "ABCD-EFGH" in rendered.text and "ABCD-EFGH" in rendered.html
    assert "ABCD" not in rendered.subject  # a lock screen shows it; SES's event payloads carry it
    assert "pat@acme.example" in rendered.text and "30 minutes" in rendered.text


def test_the_admins_email_counts_what_waits_and_what_is_not_listed():
    rendered = render(NEW_REQUESTS, connection="Employees", organization="Acme")
    assert rendered.subject == "21 requests to join Employees wait for you"
    assert "and 20 more" in rendered.text and "and 20 more" in rendered.html
    one = render(NEW_REQUESTS, connection="Employees", organization="Acme", total=1, more=0)
    assert one.subject == "1 request to join Employees waits for you" and "more" not in one.text
