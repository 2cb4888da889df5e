"""Reading rule sets: TOML files validated by a pydantic model, packaged beside the code and
optionally in a folder of ``$SHANHAI_POLICY_DIR``, with errors that name the file and the field.
Chain rules, pairing rules, the project rules and the action plan's targets all read this way."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shanhai.policy._load import ENV_POLICY_DIR, PolicyError, _where

M = TypeVar("M", bound=BaseModel)


def read_model(path: Path, model: type[M]) -> M:
    """``path`` parsed as TOML and validated as ``model``; a PolicyError naming the file and the
    first fields at fault otherwise."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: not a readable UTF-8 TOML file: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors(include_url=False)[:5]]
        raise PolicyError(f"{path.name}: " + "; ".join(problems)) from None


def folders(packaged: Path, sub: str) -> tuple[Path, ...]:
    """The packaged folder, then ``$SHANHAI_POLICY_DIR/sub`` when the variable is set."""
    extra = os.environ.get(ENV_POLICY_DIR)
    return (packaged, Path(extra) / sub) if extra else (packaged,)


@lru_cache(maxsize=32)
def rule_sets(model: type[M], where: tuple[Path, ...], prefix: str, what: str) -> dict[str, M]:
    """Every ``{prefix}NAME.toml`` in ``where`` as ``model`` by its ``name``; a name defined twice,
    or a file not named after its rule set, is a PolicyError."""
    found: dict[str, M] = {}
    for folder in where:
        for path in sorted(folder.glob(f"{prefix}*.toml")) if folder.is_dir() else ():
            rules = read_model(path, model)
            if path.stem != f"{prefix}{rules.name}":
                raise PolicyError(f"{path}: the file name must be {prefix}{rules.name}.toml (the rule set's name)")
            if rules.name in found:
                raise PolicyError(f"{path}: {what} {rules.name} is already defined")
            found[rules.name] = rules
    return found


def pick(found: dict[str, M], name: str, what: str) -> M:
    if name not in found:
        raise PolicyError(f"unknown {what} {name!r}: expected one of {', '.join(sorted(found))}")
    return found[name]
