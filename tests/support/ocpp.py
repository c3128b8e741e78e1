"""OCPP-J facts the tests check frames against (the schemas themselves come from the `ocpp` package)."""

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

# The CALLERROR codes OCPP-J 2.0.1 defines (OCPP-J 2.0.1 section 4.3): FormationViolation became
# FormatViolation, OccurenceConstraintViolation was spelt right, and two were added.
ERROR_CODES_201 = (ERROR_CODES - {"FormationViolation", "OccurenceConstraintViolation"}) | {
    "FormatViolation",
    "OccurrenceConstraintViolation",
    "MessageTypeNotSupported",
    "RpcFrameworkError",
}
ERRORS_BY_VERSION = {"1.6": ERROR_CODES, "2.0.1": ERROR_CODES_201}
