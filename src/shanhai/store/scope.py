"""Region scope: the one place that decides which rows a caller may see.

A :class:`Scope` is an adcode and its level (province, city or county). Every reader — web
pages, the JSON API, exports, briefings, the CLI's ``--region`` — turns the caller's region into
a Scope and filters with :meth:`Scope.sql` inside its query, so rows outside the region never
leave the database. ``Scope.of`` checks the adcode against ``regions``; an adcode that is not a
province, city or county is refused with one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store.sql import literal

PROVINCE = "330000"
LEVELS = ("province", "city", "county")


class OutOfScopeError(ShanhaiError):
    """The caller asked for a region or an object outside its scope (the web answers 403)."""


@dataclass(frozen=True)
class Scope:
    adcode: str
    level: str  # province | city | county
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ShanhaiError(f"scope level {self.level!r} is not one of {', '.join(LEVELS)}")

    # ---- construction -----------------------------------------------------------------------

    @classmethod
    def province(cls) -> "Scope":
        return cls(PROVINCE, "province", "浙江省")

    @classmethod
    def of(cls, store, adcode: str | None) -> "Scope":
        """The scope of ``adcode`` (the province when ``None``, empty or 330000), checked against
        ``regions``."""
        code = "" if adcode is None else str(adcode).strip()
        if code in ("", PROVINCE):
            return cls.province()
        row = store.con.execute(
            f"SELECT adcode, level, name FROM regions WHERE adcode = {literal(code)}").fetchone()
        if row is None:
            raise NotFoundError(f"adcode {code} is not a region in the database: expected the 6-digit adcode "
                               "of the province (330000), a city or a county (e.g. 330102)")
        if row[1] not in LEVELS:
            raise ShanhaiError(f"adcode {code} is a {row[1]}: expected the 6-digit adcode of the province "
                               "(330000), a city or a county (e.g. 330102)")
        return cls(row[0], row[1], row[2])

    # ---- questions --------------------------------------------------------------------------

    @property
    def is_province(self) -> bool:
        return self.level == "province"

    def covers(self, county_adcode: str | None) -> bool:
        """Whether a county (or a town, or a city, by its adcode) lies inside this scope.

        GB/T 2260 codes nest: a county's first four digits are its city's, a town's first six
        its county's; a city lies inside a city scope only if it is that city.
        """
        if self.is_province:
            return True
        if not county_adcode:
            return False
        code = str(county_adcode).strip()
        if self.level == "county":
            return code[:6] == self.adcode
        # city: a county or town of this city, or the city itself
        return len(code) >= 6 and code[:4] == self.adcode[:4]

    def contains(self, other: "Scope") -> bool:
        """Whether ``other`` lies entirely inside this scope."""
        if self.is_province:
            return True
        if other.is_province:
            return False
        if self.level == "county":
            return other.level == "county" and other.adcode == self.adcode
        return other.adcode[:4] == self.adcode[:4]

    def narrow(self, store, adcode: str | None) -> "Scope":
        """The scope of ``adcode`` if it lies inside this one (``None`` → this scope itself);
        raises :class:`OutOfScopeError` otherwise."""
        if adcode is None or str(adcode).strip() == "":
            return self
        asked = Scope.of(store, adcode)
        if not self.contains(asked):
            raise OutOfScopeError(f"region {asked.adcode} is outside your scope ({self.adcode} {self.name})")
        return asked

    def check(self, county_adcode: str | None, what: str = "this object") -> None:
        """Raise :class:`OutOfScopeError` unless ``county_adcode`` lies inside the scope."""
        if not self.covers(county_adcode):
            raise OutOfScopeError(f"{what} is outside your scope ({self.adcode} {self.name})")

    # ---- SQL --------------------------------------------------------------------------------

    def sql(self, column: str = "county_adcode") -> str:
        """A SQL predicate keeping rows whose county column lies inside the scope (``true`` for
        the province)."""
        if self.is_province:
            return "true"
        if self.level == "county":
            return f"{column} = {literal(self.adcode)}"
        return (f"{column} IN (SELECT adcode FROM regions WHERE level = 'county' "
                f"AND city_adcode = {literal(self.adcode)})")

    def covers_sql(self, expression: str) -> str:
        """The SQL twin of :meth:`covers`: true when the region code ``expression`` (a county, a
        town, or a city) lies inside the scope, false (never NULL) when it does not or is NULL —
        ``true`` for the province. Imports under a scope reject the rows it is false for."""
        if self.is_province:
            return "true"
        code = f"trim(CAST({expression} AS VARCHAR))"
        if self.level == "county":
            return f"coalesce(substr({code}, 1, 6) = {literal(self.adcode)}, false)"
        return f"coalesce(length({code}) >= 6 AND substr({code}, 1, 4) = {literal(self.adcode[:4])}, false)"

    def counties(self, store) -> list[str]:
        """The adcodes of the counties inside the scope, in code order."""
        return [r[0] for r in store.con.execute(
            f"SELECT adcode FROM regions WHERE level = 'county' AND {self.sql('adcode')} ORDER BY adcode"
        ).fetchall()]

    def as_dict(self) -> dict:
        return {"adcode": self.adcode, "level": self.level, "name": self.name}
