"""Real API Gateway HTTP API (payload format 2.0) events, as the JWT authorizer passes them to Lambda.
Built by the same code as the local gateway's (infra/local/apigw.py), so tests and `make run` agree: `path`
is the URL path as a client sends it (percent-encoded), the event carries it decoded as API Gateway does."""

import json
from urllib.parse import urlencode

from infra.local.apigw import http_api_event, route_for
from infra.template import routes


def http_event(
    method: str,
    path: str,
    *,
    sub: str | None = "driver-1",
    email: str | None = None,
    email_verified: bool = True,
    body=None,
    query: dict | None = None,
    headers: dict | None = None,
    source_ip: str = "198.51.100.7",
) -> dict:
    route, path = route_for(routes(), method, path)
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    claims = None
    if sub is not None:
        claims = {
            "sub": sub,
            "email": email or f"{sub}@example.com",
            "email_verified": "true" if email_verified else "false",
            "token_use": "id",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
        }
    return http_api_event(
        route,
        method,
        path,
        urlencode(query or {}),
        {"content-type": "application/json", "user-agent": "pytest", **(headers or {})},
        raw_body.encode() if raw_body is not None else None,
        claims,
        source_ip,
    )


def sns_event(message: dict, topic: str = "arn:aws:sns:us-east-1:123456789012:EmailEventsTopic") -> dict:
    """An SNS notification as Lambda receives it (the Message is the publisher's JSON, as a string)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": json.dumps(message),
                    "Timestamp": "2026-11-23T12:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def ses_event(event_type: str, address: str, **details) -> dict:
    """An event as SES publishes it for a configuration set (eventType, the event, and the mail)."""
    return {
        "eventType": event_type,
        event_type.lower(): details,
        "mail": {
            "timestamp": "2026-11-23T12:00:00.000Z",
            "source": "no-reply@connections.example",
            "sendingAccountId": "123456789012",
            "messageId": "0100015e83b1ab8b-5f5fbb1f-3c88-4ecd-90e7-6ee8ac3a0e7a-000000",
            "destination": [address],
            "headersTruncated": False,
            "tags": {"ses:configuration-set": ["connections"]},
        },
    }


def bounce(address: str, kind: str = "Permanent") -> dict:
    return ses_event(
        "Bounce",
        address,
        bounceType=kind,
        bounceSubType="General",
        bouncedRecipients=[
            {
                "emailAddress": address,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1",
            }
        ],
        timestamp="2026-11-23T12:00:01.000Z",
        feedbackId="0100015e83b1ab8b-aaf5e2c6-4ee1-4c8f-bd77-3d5a6bbc6b0c-000000",
    )
