"""统一社会信用代码 (USCC, GB 32100-2015): validation and generation.

An 18-character code: registration authority (1), entity type (1), registering region's adcode
(6), organisation code (9, itself with a GB 11714-1997 check character at position 17), and a
final check character::

    C18 = 31 - (sum_{i=1..17} value(c_i) * 3^(i-1) mod 31) mod 31, with 31 written as 0

over the alphabet ``0-9 A-H J-N P-R T U W-Y`` (31 characters: no I, O, Z, S, V). The
organisation code's check is ``C9 = 11 - (sum_{i=1..8} value(c_i) * w_i mod 11)`` with
w = (3, 7, 9, 10, 5, 8, 4, 2), 10 written as X and 11 as 0.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11714: digits 0-9 and letters A-Z valued 10-35
_ORG_VALUE = {ch: i for i, ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    bad = sorted({c for c in first17 if c not in _VALUE})
    if bad:
        raise ValueError(f"character(s) {''.join(bad)} are not in the USCC alphabet")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(_ORG_VALUE[c] * w for c, w in zip(first8, ORG_WEIGHTS))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC, or None when it is."""
    if not isinstance(code, str):
        return "a USCC is text of 18 characters"
    if len(code) != 18:
        return f"a USCC has 18 characters, this has {len(code)}"
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return f"character(s) {''.join(bad)} are not allowed in a USCC (no I, O, Z, S, V, lower case)"
    if not code[2:8].isdigit():
        return "characters 3-8 must be the six-digit region code"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]}, expected {expected}"
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None


def generate(adcodes: np.ndarray, serials: np.ndarray) -> np.ndarray:
    """Valid USCCs of enterprises (authority 9, type 1) for region codes and distinct serials.

    ``serials`` (non-negative integers below 10**8) become the organisation code's eight-digit
    body, so distinct serials give distinct codes. Returns an object array of str.
    """
    raw = [str(a) for a in np.asarray(adcodes).ravel()]
    bad = [a for a in raw if len(a) != 6 or not a.isdigit()]
    if bad:
        raise ValueError(f"region codes must be six digits, got {bad[:3]}")
    adcodes = np.array(raw, dtype="<U6")
    serials = np.asarray(serials, dtype=np.int64)
    if serials.min(initial=0) < 0 or serials.max(initial=0) >= 10**8:
        raise ValueError("serials must lie in [0, 10**8)")
    digits = (serials[:, None] // 10 ** np.arange(7, -1, -1)) % 10          # n x 8
    org_total = digits @ np.array(ORG_WEIGHTS)
    org_value = 11 - org_total % 11
    org_chars = np.where(org_value == 10, "X", np.where(org_value == 11, "0", org_value.astype(str)))
    body = np.char.add(np.char.add("91", adcodes), np.char.mod("%08d", serials))
    first17 = np.char.add(body, org_chars.astype("<U1"))
    # values of the 17 characters: all digits except a possible X at position 17 (value 30)
    codes = first17.view("<U1").reshape(len(first17), 17)
    values = np.where(codes == "X", _VALUE["X"], np.char.isdigit(codes) * 0)
    digit_mask = np.char.isdigit(codes)
    values = np.where(digit_mask, np.where(digit_mask, codes, "0").astype(np.int64), values)
    total = values @ np.array(WEIGHTS)
    check = np.array(list(ALPHABET))[(31 - total % 31) % 31]
    return np.char.add(first17, check).astype(object)
