"""Every function can read every kind of item: the table's discriminator (platform.table.Item.kind) turns a
stored item into its class only if that class is defined, and the item classes live in their features'
modules. Importing a handler the way Lambda does must define them all."""

import pytest

from tests.unit.test_cold_imports import ROOT, SHARED, _functions, probe_as_lambda

PROBE = """
import importlib, json, sys
sys.path[:0] = {paths!r}
importlib.import_module({module!r})
from connections.platform.table import Item
print(json.dumps(sorted(Item._get_attributes()["kind"]._discriminator_map)))
"""


def _every_kind() -> list[str]:
    # Each item class names its kind once, in `discriminator="..."`; read them from the source, not the code
    # under test.
    sources = (SHARED / "connections").rglob("items.py")
    return sorted({kind for path in sources for kind in _kinds_in(path.read_text())})


def _kinds_in(text: str) -> list[str]:
    return [part.split('"', 1)[0] for part in text.split('discriminator="')[1:]]


def test_the_features_define_kinds_to_check():
    assert len(_every_kind()) >= 18


@pytest.mark.parametrize(("function", "code_uri", "handler"), _functions(), ids=[f[0] for f in _functions()])
def test_a_handler_once_imported_can_read_every_kind_of_item(function, code_uri, handler):
    module = handler.rsplit(".", 1)[0]
    code_dir = ROOT / code_uri
    code = PROBE.format(paths=[str(code_dir), str(SHARED)], module=module)
    assert probe_as_lambda(function, code_dir, code) == _every_kind(), function
