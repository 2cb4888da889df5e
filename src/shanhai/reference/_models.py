"""Typed records of the reference data (all frozen)."""

from __future__ import annotations

from dataclasses import dataclass

MOUNTAIN_CATEGORY_LABELS = {"leapfrog": "跨越发展类", "ecological": "生态发展类"}
UNVERIFIED_MARK = "（待核实）"
STAGES = ("upstream", "midstream", "downstream")


@dataclass(frozen=True)
class Region:
    """The province, a city (设区市) or a county-level unit (县、市、区)."""

    adcode: str
    name: str
    level: str  # province | city | county
    parent_adcode: str | None  # county -> city, city -> 330000, province -> None
    city_adcode: str | None  # a county's city; a city's own adcode; None for the province
    county_kind: str | None  # district | county_city | county; None above county level
    mountain26: bool
    mountain_category: str | None  # leapfrog 跨越发展类 | ecological 生态发展类 | None
    mountain_category_verified: bool | None  # None where mountain_category is None
    mountain_island_2023: bool
    mountain_island_2025: bool

    @property
    def mountain_category_label(self) -> str | None:
        """Chinese label of the category, marked 待核实 while the split is unverified."""
        if self.mountain_category is None:
            return None
        label = MOUNTAIN_CATEGORY_LABELS[self.mountain_category]
        return label if self.mountain_category_verified else label + UNVERIFIED_MARK


@dataclass(frozen=True)
class Industry:
    """A GB/T 4754-2017 manufacturing code: division (2-digit), group (3) or class (4)."""

    code: str
    name: str
    level: str  # division | group | class
    level_zh: str  # 大类 | 中类 | 小类
    parent_code: str  # "C" for a division


@dataclass(frozen=True)
class Segment:
    """One link (环节) of a chain with the industry codes and product keywords it covers.

    A sub-segment (子环节) names its ``parent_segment_id`` (a top-level segment of the same chain)
    and has its parent's stage; a firm matched to a sub-segment is also a member of the parent.
    """

    segment_id: str
    chain_id: str
    stage: str  # upstream | midstream | downstream
    name: str
    name_en: str
    codes: tuple[str, ...]  # GB/T 4754-2017 section C codes, 2-, 3- or 4-digit
    non_manufacturing_codes: tuple[str, ...]  # codes outside section C (services, mining, ...)
    keywords: tuple[str, ...] = ()  # product words found in firm names and business scopes
    parent_segment_id: str | None = None  # the top-level segment a sub-segment belongs to


@dataclass(frozen=True)
class Chain:
    """An industrial chain (产业链) and its segments."""

    chain_id: str
    name: str
    name_en: str
    note: str
    segments: tuple[Segment, ...]
    status: str = ""  # how well the chain and its segments are sourced
    source: str = ""  # citation


@dataclass(frozen=True)
class LeaderRule:
    """How chain leaders (链主) are chosen among a chain's computed members: the province's
    ``province_top`` above-scale firms by revenue in the latest year, plus each city's largest
    when the city has at least ``city_min_members`` above-scale members of the chain. The
    synthetic province (``synth.generator``) and ``jobs.membership`` both read this one rule."""

    province_top: int = 3
    city_min_members: int = 20


LEADER_RULE = LeaderRule()


@dataclass(frozen=True)
class CountyStat:
    """2020 census figures of a county, with the documented modelling estimates filled in."""

    adcode: str
    name: str
    population: int
    mfg_share: float  # manufacturing share of the employed
    modelled: bool  # True if population or mfg_share is a modelling estimate
    note: str  # what is modelled and why; "" for plain census values
    population_modelled: bool = False
    mfg_share_modelled: bool = False


@dataclass(frozen=True)
class LeadIndustry:
    """A county's lead industries (一县一业); modelling input, not a citable source."""

    adcode: str
    name: str  # county name
    industries: tuple[str, ...]  # Chinese labels
    codes: tuple[str, ...]  # all GB/T codes of the county, in file order
    basis: str
    industry_codes: tuple[tuple[str, ...], ...] = ()  # codes per label, parallel to industries


@dataclass(frozen=True)
class MountainSeaPair:
    """A 山海协作 pairing evidenced by a dated public report."""

    developed_adcode: str | None  # None for a functional zone without an adcode
    developed_name: str
    developed_city: str
    mountain_adcode: str
    mountain_name: str
    mountain_city: str
    scope: str  # within-city | province
    paired_since: int | None
    evidence_date: str
    confidence: str  # high | medium | low
    source_url: str
    source_note: str


ENCLAVE_KINDS = {"industrial": "产业飞地", "innovation": "科创飞地", "village_income": "消薄飞地"}
# how far a public report behind a pairing or an enclave row was confirmed (the rows' ``confidence``)
CONFIDENCE_LABELS = {"high": ("可信度高", "high confidence"), "medium": ("可信度中", "medium confidence"),
                     "low": ("可信度低", "low confidence")}


@dataclass(frozen=True)
class Enclave:
    """A publicly reported 飞地 (enclave): built by its owner (飞出地) inside its host (飞入地)."""

    enclave_id: str
    name: str
    kind: str  # industrial | innovation | village_income
    host_adcode: str  # 飞入地: a county, or a city where the host is a functional zone or not narrower
    host_name: str
    owner_adcode: str  # 飞出地
    owner_name: str
    established: str  # as reported: "2017", "2019-11", "2021-04-14", or "" when not found
    area_mu: float | None
    investment_wan: float | None  # 万元
    return_model: str  # fixed_rate | guaranteed | expected | unknown
    return_terms: str
    observed_return_year: int | None  # a return actually paid, as reported
    observed_return_wan: float | None
    confidence: str  # high | medium | low
    source_tag: str  # news | secondary
    source_url: str
    note: str

    @property
    def established_on(self) -> str | None:
        """The first day of the reported period (ISO), for dating; None when not reported."""
        if not self.established:
            return None
        parts = self.established.split("-") + ["01", "01"]
        return "-".join(parts[:3])
