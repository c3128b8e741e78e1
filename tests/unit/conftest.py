"""Unit tests load the functions' modules (which read their settings when they load) but call no AWS: they
get the variables template.yaml sets and no endpoint, and start no moto (tests/unit/test_no_moto.py)."""

from tests.support.settings import use_settings

use_settings()
