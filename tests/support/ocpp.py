"""OCPP-J facts the tests check frames against (the schemas themselves come from the `ocpp` package; the
CALLERROR codes each version defines are the simulated chargers', written once in infra/local/chargers.py)."""

from infra.local.chargers import ERROR_CODES as ERRORS_BY_VERSION

ERROR_CODES = ERRORS_BY_VERSION["1.6"]
