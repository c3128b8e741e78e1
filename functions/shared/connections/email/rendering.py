"""The service's emails, made from the templates in templates/: each email `<name>` has `<name>.txt` (its
subject block and the plain text part) and `<name>.html` (the HTML part), both with a layout.

Jinja2 renders them: loops and a shared layout without writing markup in code, and autoescape for every
.html template, so whatever users typed (names, answers, messages) reaches the HTML part escaped. The plain
text part is not HTML and is left as typed. A subject becomes one line: line breaks and other control
characters are removed, so nothing typed can add a header. A subject carries nothing secret (no code): it
shows on lock screens and in SES's event payloads.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_MAX = 150
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Rendered:
    notice: str  # which email it is (the templates' name): what logs may say of it
    subject: str
    text: str
    html: str


@cache
def _environment():
    # Imported on first use (~35 ms): a cold start that sends no email does not pay for it.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,  # a value the template expects and nobody gave fails, in tests first
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def names() -> list[str]:
    """Every email the templates define (the layouts start with an underscore)."""
    return sorted(p.stem for p in TEMPLATES.glob("*.txt") if not p.name.startswith("_"))


def one_line(subject: str) -> str:
    """A subject as one header line: whitespace runs (line breaks included) become one space, other
    control characters go, and a long one is cut."""
    line = " ".join(_CONTROL.sub(" ", subject).split())
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1].rstrip() + "…"


def render(name: str, **values) -> Rendered:
    environment = _environment()
    text = environment.get_template(f"{name}.txt")
    subject = "".join(text.blocks["subject"](text.new_context(values)))
    return Rendered(
        notice=str(name),
        subject=one_line(subject),
        text=text.render(values),
        html=environment.get_template(f"{name}.html").render(values),
    )
