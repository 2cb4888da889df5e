"""Reading presets: the packaged ones, a user folder ($SHANHAI_POLICY_DIR), or one file."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from shanhai.errors import ShanhaiError
from shanhai.policy._model import Preset, Target, Targets

PRESET_DIR = Path(__file__).parent / "presets"
ENV_POLICY_DIR = "SHANHAI_POLICY_DIR"


class PolicyError(ShanhaiError):
    """A preset file that cannot be read or does not hold a valid preset."""


def _where(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in ("function-after", "function-before") or str(item).startswith(("function-", "literal[")):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def parse(data: dict, source: str) -> Preset:
    """A preset from parsed TOML; a bad field is a PolicyError naming the file and the field."""
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False)[:5]:
            message = e["msg"].removeprefix("Value error, ")
            got = "" if e["type"] in ("missing", "value_error") else f" (got {e.get('input')!r})"
            problems.append(f"{_where(e['loc'])}: {message}{got}")
        more = "" if exc.error_count() <= 5 else f"; and {exc.error_count() - 5} more"
        raise PolicyError(f"{source}: " + "; ".join(problems) + more) from None
    _check_reference(preset, source)
    return preset


def _check_reference(preset: Preset, source: str) -> None:
    from shanhai import reference

    try:
        reference.region(preset.region)
    except ShanhaiError:
        raise PolicyError(f"{source}: region: {preset.region} is not a Zhejiang province, city or county adcode") \
            from None
    known = {i.code for i in reference.industries()}
    for where, codes in [("scope.exclude_industries", preset.scope.exclude_industries)] + [
            (f"groups.{g.id}.industries", g.industries) for g in preset.groups]:
        for code in codes:
            if code not in known:
                raise PolicyError(f"{source}: {where}: {code} is not a GB/T 4754-2017 manufacturing code")


def load_file(path: str | os.PathLike) -> Preset:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such preset file") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text; save the preset as UTF-8 TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    preset = parse(data, str(path.name))
    if path.stem != preset.name:
        raise PolicyError(f"{path}: the file name must be the preset's name ({preset.name}.toml)")
    return preset


def _folders() -> list[Path]:
    folders = [PRESET_DIR]
    extra = os.environ.get(ENV_POLICY_DIR)
    if extra:
        folders.append(Path(extra))
    return folders


@lru_cache(maxsize=4)
def _presets(folders: tuple[Path, ...]) -> dict[str, Preset]:
    found: dict[str, Preset] = {}
    origin: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise PolicyError(f"{ENV_POLICY_DIR}={folder}: not a folder")
        for path in sorted(folder.glob("*.toml")):
            preset = load_file(path)
            if preset.name in found:
                raise PolicyError(f"{path}: preset {preset.name} is already defined in {origin[preset.name]}")
            found[preset.name] = preset
            origin[preset.name] = path
    return found


def presets() -> dict[str, Preset]:
    """Every preset by name: the packaged ones, then those in $SHANHAI_POLICY_DIR."""
    return dict(_presets(tuple(_folders())))


def get(name: str) -> Preset:
    """A preset by name, or a path to a preset file."""
    if name.endswith(".toml") or os.sep in name:
        return load_file(name)
    found = presets()
    if name not in found:
        raise PolicyError(f"unknown policy {name!r}: expected one of {', '.join(sorted(found))} "
                          "(see `shanhai policy list`)")
    return found[name]


def fingerprint(preset: Preset) -> str:
    """sha256 of the preset's canonical JSON: which exact policy a run used."""
    return hashlib.sha256(canonical_json(preset).encode()).hexdigest()


def canonical_json(preset: Preset) -> str:
    return json.dumps(preset.model_dump(mode="json", by_alias=True), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


def _flatten(value, prefix: str, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            key = v.get("id") or v.get("flag") or v.get("class") or i
            if "class" in v and v.get("populations"):
                key = f"{v['class']}@{'+'.join(v['populations'])}"
            _flatten(v, f"{prefix}[{key}]", out)
    else:
        out[prefix] = value


def diff(a: Preset, b: Preset) -> list[tuple[str, object, object]]:
    """Fields that differ between two presets, as (dotted path, a's value, b's value)."""
    fa: dict = {}
    fb: dict = {}
    _flatten(a.model_dump(mode="json", by_alias=True), "", fa)
    _flatten(b.model_dump(mode="json", by_alias=True), "", fb)
    missing = object()
    rows = []
    for key in list(dict.fromkeys([*fa, *fb])):
        va, vb = fa.get(key, missing), fb.get(key, missing)
        if va != vb:
            rows.append((key, None if va is missing else va, None if vb is missing else vb))
    return rows


@lru_cache(maxsize=1)
def targets() -> tuple[Target, ...]:
    """The per-mu targets of the policy documents (``targets.toml``)."""
    path = Path(__file__).parent / "targets.toml"
    try:
        return tuple(Targets.model_validate(tomllib.loads(path.read_text("utf-8"))).targets)
    except ValidationError as exc:
        raise PolicyError(f"{path.name}: {exc.errors(include_url=False)[0]['msg']}") from None
