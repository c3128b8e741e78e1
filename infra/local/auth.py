"""Local sign-in: stands in for the Cognito user pool and the HTTP API's JWT authorizer.

Tokens are RS256 ID tokens signed with a key kept in .local/ (so tokens survive restarts). The gateway
checks them as API Gateway's JWT authorizer does (signature, issuer, audience, expiry, which is required)
and hands the claims to the function in the same form: every claim as a string.
"""

import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.template import ROOT

STATE = ROOT / ".local"
KEY_FILE = STATE / "jwt-signing-key.pem"
ISSUER = "http://127.0.0.1/local-user-pool"
AUDIENCE = "local-app-client"


def signing_key() -> rsa.RSAPrivateKey:
    if not KEY_FILE.exists():
        STATE.mkdir(exist_ok=True)
        new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        KEY_FILE.write_bytes(
            new.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        KEY_FILE.chmod(0o600)
    key = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)  # the one written above
    return key


def mint(sub: str, email: str | None = None, *, email_verified: bool = True, hours: float = 12) -> str:
    """An ID token as Cognito would issue it for this user."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "email": email or f"{sub}@example.com",
        "email_verified": email_verified,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + int(hours * 3600),
    }
    return jwt.encode(claims, signing_key(), algorithm="RS256")


class Verifier:
    def __init__(self) -> None:
        self._public = signing_key().public_key()

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The verified claims of a 'Bearer <token>' header, as API Gateway passes them; None if invalid."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        try:
            claims = jwt.decode(
                authorization[7:].strip(),
                self._public,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                # API Gateway's JWT authorizer refuses a token without exp; PyJWT checks exp only if present.
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError:
            return None
        return {k: _as_string(v) for k, v in claims.items()}


def _as_string(value) -> str:
    # API Gateway HTTP APIs pass JWT claims to Lambda as strings: true -> "true", 5 -> "5".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
