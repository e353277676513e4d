import base64
import hashlib
import hmac
import json
import unittest
from collections.abc import Mapping

from auth import AUDIENCE, ISSUER, AuthError, authenticate

SECRET = b"test-secret"
NOW = 1_800_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: Mapping[str, object] | None = None, secret: bytes = SECRET) -> str:
    body = {"sub": "u1", "customer_id": 7, "scope": "orders:read", "iss": ISSUER,
            "aud": AUDIENCE, "exp": NOW + 60, **(claims or {})}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(body).encode())
    sig = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64(sig)}"


class AuthenticateTest(unittest.TestCase):
    def test_valid_token(self) -> None:
        user = authenticate(token(), SECRET, NOW)
        self.assertEqual((user.id, user.customer_id, user.scope), ("u1", 7, ("orders:read",)))

    def test_forged_signature(self) -> None:
        with self.assertRaises(AuthError):
            authenticate(token(secret=b"attacker"), SECRET, NOW)

    def test_expired(self) -> None:
        with self.assertRaises(AuthError):
            authenticate(token({"exp": NOW - 1}), SECRET, NOW)

    def test_wrong_issuer_or_audience(self) -> None:
        claims: Mapping[str, object]
        for claims in ({"iss": "https://evil.example"}, {"aud": "billing"}):
            with self.subTest(claims=claims), self.assertRaises(AuthError):
                authenticate(token(claims), SECRET, NOW)

    def test_alg_none_is_refused(self) -> None:
        head = b64(json.dumps({"alg": "none"}).encode())
        payload = token().split(".")[1]
        with self.assertRaises(AuthError):
            authenticate(f"{head}.{payload}.", SECRET, NOW)


if __name__ == "__main__":
    unittest.main()
