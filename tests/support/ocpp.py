"""OCPP 1.6J facts the tests check frames against (the schemas themselves come from the `ocpp` package)."""

from infra.local.chargers import ERROR_CODES as CODES_BY_VERSION

# The CALLERROR codes OCPP-J 1.6 defines (section 4.2.3).
ERROR_CODES = CODES_BY_VERSION["1.6"]
