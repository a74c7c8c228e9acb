"""Who may do what: roles, their rights, principals, password and token hashing.

The one place that says which role holds which right; routes ask for a right, never for
a role. Tokens are random 256-bit strings stored as SHA-256 (a token is too long to guess,
so a slow hash adds nothing); passwords are stored as scrypt hashes.

>>> sorted(r for r in ROLES if allowed(r, "orders.review"))
['admin', 'engineer', 'planner']
>>> verify_password("s3cret", hash_password("s3cret")), verify_password("x", hash_password("y"))
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ROLES = ("admin", "planner", "engineer", "technician", "viewer", "service")

RIGHTS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    # customer, contracts, warranty dates: commercial data
    "commercial": frozenset({"admin", "planner"}),
    "assets.write": frozenset({"admin", "planner"}),
    "assets.register": frozenset({"admin", "planner", "service"}),  # create a bare asset
    "health.write": frozenset({"admin", "service"}),
    "events.write": frozenset({"admin", "service", "engineer"}),
    "orders.create": frozenset({"admin", "planner", "engineer", "technician", "service"}),
    "orders.review": frozenset({"admin", "planner", "engineer"}),  # approve, reject, merge
    "orders.plan": frozenset({"admin", "planner"}),  # schedule, assign, cancel
    "orders.execute": frozenset({"admin", "planner", "engineer", "technician"}),
    "orders.close": frozenset({"admin", "planner", "engineer"}),
    "labels.export": frozenset({"admin", "planner", "engineer"}),
    "dispatch.manage": frozenset({"admin", "planner"}),
    "webhooks.manage": frozenset({"admin"}),
    "codes.write": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "parts.read": frozenset({"admin", "planner", "engineer", "technician"}),
    "parts.write": frozenset({"admin", "planner"}),  # catalogue, stock, receipts
    "quality.write": frozenset({"admin", "planner", "engineer"}),  # corrective actions
    # fault cases of the knowledge base: written by those who fix
    "knowledge.write": frozenset({"admin", "planner", "engineer", "technician"}),
}


def allowed(role: str, right: str) -> bool:
    return role in RIGHTS[right]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: recorded as the actor of whatever it changes."""

    name: str
    role: str
    scope: str = ""  # asset path prefix the principal may see; "" means everything

    def can(self, right: str) -> bool:
        return allowed(self.role, right)

    def sees_path(self, path: str) -> bool:
        return not self.scope or path == self.scope or path.startswith(self.scope + "/")


TOKEN_PREFIX = "fw_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))
