"""Provision a charger for an organization: its AWS IoT thing, named after its station id, carries the
attribute `organization_id`. Only then may that organization's admins register the station (POST
/organizations/{organization_id}/stations checks it), so nobody can claim a charger that is not theirs.

Whoever installs chargers does this once per charger, with the account's credentials, alongside its
certificate (`aws iot create-thing` does the same). Locally, `make provision` does it on `make run`'s
moto:

    .venv/bin/python -m infra.provision --station CP-9 --organization <organization_id> [--endpoint-url URL]
"""

import argparse
import sys
from pathlib import Path

import boto3

# The layer's code, on the path as Lambda has it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "shared"))
from connections.stations.iot import OWNER_ATTRIBUTE  # noqa: E402 - after the layer is on the path


def provision(station_id: str, organization_id: str, endpoint_url: str | None = None, **client) -> None:
    """`client`: more arguments for boto3.client (region_name, credentials)."""
    registry = boto3.client("iot", endpoint_url=endpoint_url, **client)
    attributes = {"attributePayload": {"attributes": {OWNER_ATTRIBUTE: organization_id}, "merge": True}}
    try:
        registry.create_thing(thingName=station_id, **attributes)
    except registry.exceptions.ResourceAlreadyExistsException:
        registry.update_thing(thingName=station_id, **attributes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--station", required=True, help="the charger's station id (its IoT thing name)")
    parser.add_argument("--organization", required=True, help="the organization_id it belongs to")
    parser.add_argument("--endpoint-url", help="for example http://127.0.0.1:4566 (make run's moto)")
    args = parser.parse_args()
    provision(args.station, args.organization, args.endpoint_url)
    print(f"{args.station} is provisioned for organization {args.organization}.")


if __name__ == "__main__":
    main()
