"""Publish the web console to a deployed stack: `make publish-console STACK=<name>` (after `make build`).

Writes config.json from the stack's outputs (decision record 0031: the API, Cognito's hosted sign-in, the
console's URL to come back to), uploads web/dist to the stack's ConsoleBucket, and invalidates its
CloudFront distribution. index.html and config.json are revalidated on every visit; the content-hashed
files under assets/ are cached for good, and earlier builds' are left in the bucket, so a page opened
before the upload still finds its scripts.

    .venv/bin/python -m infra.publish_console --stack connections [--region eu-west-1]
"""

import argparse
import json
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path

import boto3

from infra.template import ROOT

DIST = ROOT / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"  # names change with their content (Vite's hashes)
REVALIDATE = "no-cache"


def console_config(outputs: dict[str, str], region: str) -> dict:
    """config.json for the stack whose CloudFormation outputs are `outputs` (KeyError names a missing one)."""
    return {
        "api_base_url": outputs["ApiUrl"],
        "sign_in": {
            "mode": "cognito",
            # The user pool's issuer: its discovery document names the hosted UI's endpoints.
            "authority": f"https://cognito-idp.{region}.amazonaws.com/{outputs['UserPoolId']}",
            "domain": outputs["HostedUiDomain"],
            "client_id": outputs["UserPoolClientId"],
            "redirect_uri": outputs["ConsoleUrl"],
        },
    }


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    content_type: str
    cache_control: str


def _content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed == "text/html" else guessed


def uploads(dist: Path, config: dict) -> list[Upload]:
    """What goes to the bucket, in order: the assets, config.json, and index.html last, so that a visitor
    never gets a page whose scripts are not there yet."""
    files = sorted(p for p in dist.rglob("*") if p.is_file() and p.name not in ("index.html", "config.json"))
    planned = [
        Upload(
            key=p.relative_to(dist).as_posix(),
            body=p.read_bytes(),
            content_type=_content_type(p.name),
            cache_control=IMMUTABLE if p.relative_to(dist).parts[0] == "assets" else REVALIDATE,
        )
        for p in files
    ]
    planned.append(
        Upload("config.json", json.dumps(config, indent=2).encode(), "application/json", REVALIDATE)
    )
    index = dist / "index.html"
    planned.append(Upload("index.html", index.read_bytes(), _content_type(index.name), REVALIDATE))
    return planned


def publish(stack: str, region: str | None = None) -> str:
    session = boto3.session.Session(region_name=region)
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    s3 = session.client("s3")
    for upload in uploads(DIST, console_config(outputs, session.region_name)):
        s3.put_object(
            Bucket=outputs["ConsoleBucket"],
            Key=upload.key,
            Body=upload.body,
            ContentType=upload.content_type,
            CacheControl=upload.cache_control,
        )
    session.client("cloudfront").create_invalidation(
        DistributionId=outputs["ConsoleDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )
    return outputs["ConsoleUrl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", help="the stack's region (default: the AWS CLI's)")
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        parser.error("web/dist is not built: run `make build` (or `make console`) first")
    print(f"The console is published: {publish(args.stack, args.region)}")


if __name__ == "__main__":
    main()
