"""统一社会信用代码 (GB 32100-2015) validation and generation, checked against an independent
implementation of the standard and against published codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanhai import uscc
from shanhai.uscc import ALPHABET, check_char, generate, is_valid, org_check_char, problem

# GB 32100-2015 coding character set: digits and capitals without I, O, Z, S, V.
GB_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Codes quoted publicly for real enterprises. Each is also checked against the reference
# implementation below, so the tests do not depend on where the codes came from.
PUBLISHED = [
    "91350100M000100Y43",
    "91330100799655058B",
    "9144030071526726XG",
    "914403001922038216",
    "91110000802100433B",
    "91330000142916567N",
]


def _reference_check(first17: str) -> str:
    """GB 32100 check character written from the standard: weights 3^(i-1) mod 31."""
    total = sum(GB_ALPHABET.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return GB_ALPHABET[(31 - total % 31) % 31]


def _reference_org_check(first8: str) -> str:
    """GB 11714-1997: weights 3 7 9 10 5 8 4 2; digits keep their value, A-Z are 10-35."""
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in first8]
    c9 = 11 - sum(v * w for v, w in zip(values, (3, 7, 9, 10, 5, 8, 4, 2))) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


# -- the alphabet and the published codes -------------------------------------------------


def test_alphabet():
    assert ALPHABET == GB_ALPHABET
    assert len(ALPHABET) == 31 == len(set(ALPHABET))
    assert not set("IOZSV") & set(ALPHABET)
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert _reference_check(code[:17]) == code[17]  # the expectation itself is right
    assert problem(code) is None
    assert is_valid(code)
    assert check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_carry_a_gb11714_organisation_code(code):
    assert _reference_org_check(code[8:16]) == code[16]
    assert org_check_char(code[8:16]) == code[16]


def test_org_check_char_special_values():
    # sum 0 -> 11 -> written 0; a body whose check value is 10 -> written X
    assert org_check_char("00000000") == "0"
    assert org_check_char("71526726") == "X"
    assert org_check_char("M000100Y") == "4"


# -- problem() ----------------------------------------------------------------------------

GOOD = "91350100M000100Y43"


@pytest.mark.parametrize("code", [GOOD[:17], GOOD + "0", "", GOOD[:10]])
def test_problem_wrong_length(code):
    message = problem(code)
    assert message == f"a USCC has 18 characters, this has {len(code)}"
    assert not is_valid(code)


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "a", "m", "-", " ", "中"])
def test_problem_forbidden_characters(bad):
    code = GOOD[:10] + bad + GOOD[11:]
    message = problem(code)
    assert message is not None
    assert message.startswith(f"character(s) {bad} are not allowed")
    assert not is_valid(code)


def test_problem_lists_every_forbidden_character_once():
    code = "91350100I0O0100Y4o"
    assert problem(code).startswith("character(s) IOo are not allowed")


def test_lower_case_of_a_valid_code_is_refused():
    code = "9144030071526726xg"
    assert is_valid(code.upper())
    assert problem(code).startswith("character(s) gx are not allowed")


@pytest.mark.parametrize("code", PUBLISHED)
def test_problem_wrong_check_character(code):
    for wrong in ALPHABET:
        if wrong == code[17]:
            continue
        message = problem(code[:17] + wrong)
        assert message == f"check character is {wrong}, expected {code[17]}"


def test_problem_region_code_must_be_digits():
    body = "9135A100M000100Y4"
    code = body + check_char(body)  # a correct check character does not make it valid
    assert problem(code) == "characters 3-8 must be the six-digit region code"


def test_problem_of_non_text():
    assert problem(913501001234567890) == "a USCC is text of 18 characters"
    assert problem(None) == "a USCC is text of 18 characters"
    assert not is_valid(None)


# -- check_char, property-based -----------------------------------------------------------

_body = st.tuples(
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
).map("".join)


@settings(max_examples=150, deadline=None)
@given(_body)
def test_check_char_makes_a_valid_code(body):
    code = body + check_char(body)
    assert check_char(body) == _reference_check(body)
    assert problem(code) is None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_every_single_substitution_is_detected(body):
    """31 is prime and every weight is non-zero mod 31, so changing one character (check
    character included) always changes the weighted sum mod 31."""
    code = body + check_char(body)
    assert check_char(body) == _reference_check(body)
    for i in range(18):
        for other in ALPHABET:
            if other == code[i]:
                continue
            changed = code[:i] + other + code[i + 1:]
            assert check_char(changed[:17]) != changed[17], (code, i, other)
            assert not is_valid(changed)


def test_check_char_needs_17_characters():
    with pytest.raises(ValueError, match="expected 17 characters, got 16"):
        check_char(GOOD[:16])


# -- generate() ---------------------------------------------------------------------------

ADCODES = ["330127", "330102", "331181", "330824", "330000"]


def test_generate_makes_valid_distinct_codes():
    n = 4000
    rng = np.random.default_rng(7)
    serials = np.concatenate([np.arange(1500), rng.choice(10**8, n - 1500, replace=False)])
    serials = np.unique(serials)
    adcodes = np.array(ADCODES)[np.arange(len(serials)) % len(ADCODES)]
    codes = generate(adcodes, serials)
    assert codes.dtype == object and codes.shape == serials.shape
    assert len(set(codes)) == len(serials)
    org_chars = set()
    for code, adcode, serial in zip(codes, adcodes, serials):
        assert isinstance(code, str) and len(code) == 18
        assert problem(code) is None, code
        assert code[:2] == "91"
        assert code[2:8] == adcode
        assert code[8:16] == f"{serial:08d}"
        assert code[16] == org_check_char(code[8:16]) == _reference_org_check(code[8:16])
        assert code[17] == _reference_check(code[:17])
        org_chars.add(code[16])
    # both special organisation check values occur, so the X branch is exercised
    assert {"X", "0"} <= org_chars


def test_generate_same_serial_in_two_regions_differs_only_in_region_and_check():
    a, b = generate(np.array(["330127", "331181"]), np.array([12345678, 12345678]))
    assert a[8:17] == b[8:17] == "12345678" + org_check_char("12345678")
    assert a[2:8] == "330127" and b[2:8] == "331181"
    assert is_valid(a) and is_valid(b)


def test_generate_known_values():
    codes = generate(np.array(["330106", "330106"]), np.array([0, 1]))
    assert list(codes) == ["913301060000000000", "91330106000000019W"]


def test_generate_accepts_the_range_ends():
    codes = generate(np.array(["330127", "330127"]), np.array([0, 10**8 - 1]))
    assert [c[8:16] for c in codes] == ["00000000", "99999999"]
    assert all(is_valid(c) for c in codes)


@pytest.mark.parametrize("serials", [[-1], [10**8], [5, 10**8 + 3], [2**40]])
def test_generate_rejects_serials_outside_the_range(serials):
    with pytest.raises(ValueError, match=r"\[0, 10\*\*8\)"):
        generate(np.array(["330127"] * len(serials)), np.array(serials))


def test_generate_nothing():
    assert generate(np.array([], dtype=str), np.array([], dtype=np.int64)).shape == (0,)


def test_generate_accepts_integer_adcodes():
    assert list(generate(np.array([330127]), np.array([42]))) == list(
        generate(np.array(["330127"]), np.array([42]))
    )


def test_generate_refuses_a_malformed_adcode():
    with pytest.raises(ValueError):
        codes = generate(np.array(["33012", "330127"]), np.array([1, 2]))
        assert all(is_valid(c) for c in codes)  # not reached when it raises


def test_check_char_refuses_characters_outside_the_alphabet():
    with pytest.raises(ValueError, match="alphabet"):
        uscc.check_char("I" * 17)
