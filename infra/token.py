"""`make token SUB=alice EMAIL=alice@example.com`: print a sign-in token for the local stack.

Admin rights come from the data (the organization's admins), not from the token."""

import argparse

from infra.local.auth import mint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="the user id (Cognito 'sub')")
    parser.add_argument("--email", default="", help="the user's email address (default: <sub>@example.com)")
    parser.add_argument("--unverified", action="store_true", help="mark the email address as not verified")
    args = parser.parse_args()
    if not args.sub:
        parser.error("give a user id: make token SUB=alice EMAIL=alice@example.com")
    print(mint(args.sub, args.email or None, email_verified=not args.unverified))


if __name__ == "__main__":
    main()
