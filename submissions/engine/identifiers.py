"""Check digits: NHS number modulus 11 and the SNOMED CT Verhoeff check."""

from __future__ import annotations

import polars as pl

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P1 = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
_P: list[tuple[int, ...]] = [tuple(range(10))]
for _ in range(7):
    _P.append(tuple(_P1[x] for x in _P[-1]))


def verhoeff_valid(digits: str) -> bool:
    if not digits.isdigit() or not digits.isascii():
        return False
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def snomed_id_valid(value: str) -> bool:
    """6-18 digits, no leading zero, Verhoeff check digit correct, partition a known kind."""
    return (
        6 <= len(value) <= 18
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and value[-3:-1] in ("00", "10")
        and verhoeff_valid(value)
    )


def nhs_check_digit(nine: str) -> int | None:
    """The modulus 11 check digit for 9 digits, or None when none exists (remainder 10)."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_number_valid(value: str) -> bool:
    if len(value) != 10 or not value.isdigit():
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def modulus11_ok(as_int: pl.Expr) -> pl.Expr:
    """Vectorised modulus 11 over a 10-digit NHS number held as an integer."""
    n = as_int.cast(pl.UInt64)  # unsigned division is several times faster than signed
    total = pl.lit(0, dtype=pl.UInt64)
    for i in range(9):
        total = total + ((n // (10 ** (9 - i))) % 10) * (10 - i)
    remainder = total % 11  # check digit = 11 - remainder; 11 -> 0; 10 -> no valid number
    check = pl.when(remainder == 0).then(0).otherwise(11 - remainder)
    return (remainder != 1) & (check == n % 10)
