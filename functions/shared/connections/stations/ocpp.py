"""OCPP-J framing: [2, id, action, payload] calls, [3, id, payload] results, [4, id, code, text, details]
errors. Written by hand because importing the `ocpp` package costs 190-300 ms (jsonschema, asyncio) on
every cold start for what is one JSON array; the tests validate every frame the service produces against
the `ocpp` package's 1.6 schemas instead."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

CALL, CALL_RESULT, CALL_ERROR = 2, 3, 4


def call(action: str, payload: dict) -> tuple[str, list]:
    unique_id = uuid.uuid4().hex
    return unique_id, [CALL, unique_id, action, payload]


def encode(frame: list) -> bytes:
    """The frame as published to the station (compact JSON): what BytesPerMessage is measured on."""
    return json.dumps(frame, separators=(",", ":")).encode()


def size(frame: list) -> int:
    return len(encode(frame))


def result(unique_id: str, payload: dict) -> list:
    return [CALL_RESULT, unique_id, payload]


def error(unique_id: str, code: str, description: str) -> list:
    return [CALL_ERROR, unique_id, code, description, {}]


@dataclass(frozen=True)
class Frame:
    kind: int
    unique_id: str
    action: str | None = None  # calls only
    payload: Any = None
    error_code: str | None = None  # errors only


def parse(raw: str | bytes) -> Frame | None:
    """A frame from a station, or None when it is not one (logged and dropped by the caller)."""
    try:
        frame = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
        return None
    match frame[0]:
        case 2 if len(frame) == 4 and isinstance(frame[2], str) and isinstance(frame[3], dict):
            return Frame(CALL, frame[1], frame[2], frame[3])
        case 3 if isinstance(frame[2], dict):
            return Frame(CALL_RESULT, frame[1], payload=frame[2])
        case 4 if len(frame) >= 4:
            return Frame(CALL_ERROR, frame[1], payload=frame[3], error_code=str(frame[2]))
    return None
