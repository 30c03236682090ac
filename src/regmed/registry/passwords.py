"""The password policy: at least 12 characters, not a common password, not the user name.

Every path that sets a password (``regmed users add --set-password``, ``regmed users
set-password``, the API's user creation and password change, the web's password form) calls
:func:`password_problems` through :func:`regmed.registry.add_user` /
:func:`regmed.registry.set_password`, so the rule is one rule. The list of common passwords is
SecLists' 10,000 most common (``common_passwords.txt`` next to this module, with its source).
NIST SP 800-63B §5.1.1.2 asks for exactly this: a minimum length and a check against
passwords known to be common, no composition rules.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from regmed.errors import Problem

__all__ = ["MIN_LENGTH", "password_problems", "common_passwords"]

MIN_LENGTH = 12
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = (Path(__file__).parent / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str | None = None) -> list[Problem]:
    """What is wrong with ``password`` under the policy (empty when it is acceptable).

    Refused: fewer than 12 characters; a common password, also with leading or trailing
    digits and symbols (``password1234!``) or repeated (``qwertyqwerty``); one character
    repeated; the user name inside it.

    Examples
    --------
    >>> [str(p) for p in password_problems("abc")]  # doctest: +ELLIPSIS
    ['password: must have at least 12 characters ...']
    >>> password_problems("correct horse battery")
    []
    """
    problems = []
    pw = password or ""
    if len(pw) < MIN_LENGTH:
        problems.append(Problem(f"must have at least {MIN_LENGTH} characters (it has {len(pw)})",
                                field="password"))
    low = pw.lower()
    core = _EDGES.sub("", low)
    common = common_passwords()
    halves = [low[: len(low) // k] for k in (2, 3, 4) if len(low) % k == 0
              and low[: len(low) // k] * k == low]
    if low in common or core in common or any(h in common for h in halves):
        problems.append(Problem("is a common password (in a list of 10,000 passwords that "
                                "attackers try first)", field="password"))
    elif len(set(low)) <= 2 and pw:
        problems.append(Problem("repeats one or two characters", field="password"))
    if username and len(username) >= 3 and username.lower() in low:
        problems.append(Problem("contains the user name", field="password"))
    return problems
