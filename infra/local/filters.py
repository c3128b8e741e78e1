"""Lambda event filtering (FilterCriteria): does a record match a pattern?

Lambda uses EventBridge's pattern syntax; no maintained Python library implements it, so this covers
what event source mappings use: exact values (any of a list), prefix, suffix, anything-but, exists,
numeric comparisons and equals-ignore-case, nested to any depth."""

import json
import operator

_NUMERIC = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_MISSING = object()


def matches_any(filter_criteria: dict | None, record: dict) -> bool:
    """True when there are no filters or the record matches one of them (Lambda ORs the filters)."""
    filters = (filter_criteria or {}).get("Filters") or []
    return not filters or any(matches(json.loads(f["Pattern"]), record) for f in filters)


def matches(pattern: dict, event) -> bool:
    if not isinstance(event, dict):
        return False
    for key, wanted in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(wanted, dict):
            if value is _MISSING:
                if not _absence_matches(wanted):
                    return False
            elif not matches(wanted, value):
                return False
        elif not _any_rule(wanted, value):
            return False
    return True


def _absence_matches(pattern: dict) -> bool:
    """A missing object matches a pattern whose every leaf accepts absence (`{"exists": false}`)."""
    return all(
        _absence_matches(w)
        if isinstance(w, dict)
        else any(isinstance(r, dict) and r.get("exists") is False for r in w)
        for w in pattern.values()
    )


def _any_rule(rules: list, value) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_rule(rule, v) for rule in rules for v in values) or (
        value is _MISSING and any(isinstance(r, dict) and r.get("exists") is False for r in rules)
    )


def _rule(rule, value) -> bool:
    if value is _MISSING:
        return False
    if not isinstance(rule, dict):
        return rule == value
    ((name, arg),) = rule.items()
    match name:
        case "exists":
            return arg is True
        case "prefix":
            return isinstance(value, str) and value.startswith(arg)
        case "suffix":
            return isinstance(value, str) and value.endswith(arg)
        case "equals-ignore-case":
            return isinstance(value, str) and value.lower() == arg.lower()
        case "anything-but":
            if isinstance(arg, dict):
                return not _rule(arg, value)
            return value not in (arg if isinstance(arg, list) else [arg])
        case "numeric":
            if not isinstance(value, int | float) or isinstance(value, bool):
                return False
            pairs = zip(arg[::2], arg[1::2], strict=True)
            return all(_NUMERIC[op](value, bound) for op, bound in pairs)
    raise ValueError(f"unsupported filter rule: {rule}")
