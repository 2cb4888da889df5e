"""Documentation is part of the product: a command, option or setting nobody wrote down fails."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from shanhai.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")


def commands(group, prefix: str = ""):
    """(name, command) for every leaf command; typer ships its own click, so duck-type groups."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from commands(command, f"{path} ")
        else:
            yield path, command


def test_readme_opens_with_the_two_setup_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    first = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert first == ["make run", "make test"]


def test_every_command_is_in_the_readme_tour():
    group = typer.main.get_command(app)
    found = list(commands(group))
    assert {name for name, _ in found} >= {"demo", "synth", "db init", "db info", "db backup", "db restore"}
    for name, _ in found:
        assert f"shanhai {name}" in README, f"`shanhai {name}` is not in the README's CLI tour"


def test_every_option_has_help_and_is_documented_or_common():
    group = typer.main.get_command(app)
    common = {"--db", "--json", "--help"}
    for name, command in commands(group):
        for param in command.params:
            if getattr(param, "param_type_name", None) == "option":
                assert param.help, f"shanhai {name} {param.opts[0]} has no help text"
                for opt in param.opts:
                    if opt.startswith("--") and opt not in common:
                        assert opt in README, f"shanhai {name} {opt} is not mentioned in README.md"


def test_environment_variables_are_documented():
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "src" / "shanhai").rglob("*.py"))
    for variable in set(re.findall(r"\b(SHANHAI_[A-Z_]+)\b", source)):
        assert variable in README, f"{variable} is read by the code but not documented in README.md"


def test_architecture_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    for package in (ROOT / "src" / "shanhai").iterdir():
        if package.is_dir() and (package / "__init__.py").exists():
            assert f"shanhai.{package.name}" in text, f"docs/architecture.md does not describe shanhai.{package.name}"
