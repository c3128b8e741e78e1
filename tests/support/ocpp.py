"""OCPP 1.6J facts the tests check frames against (the schemas themselves come from the `ocpp` package)."""

# The CALLERROR codes OCPP-J 1.6 defines (section 4.2.3).
ERROR_CODES = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
