"""The base of every model the API reads from a request body."""

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A request body, strictly typed. JSON says what type each value is, so a boolean sent as 0 or
    "off", a number sent as "30" or a latitude sent as true is a mistake to name, not to guess at.

    Powertools validates the body once parsed into Python objects, where strict also refuses an enum given
    by its value and a Decimal given as a JSON number or string: such fields say `Strict(False)`."""

    model_config = ConfigDict(strict=True)
