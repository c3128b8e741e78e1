"""What every feature stands on: the table's base and key conventions, settings, the caller, errors, HTTP
glue and telemetry."""
