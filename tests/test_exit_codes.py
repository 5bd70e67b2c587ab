"""``cloudlease --help`` and the CLI reference list exactly the exit codes the code returns."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

from cloudlease import __version__, cli

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "cloudlease" / "cli.py", ROOT / "cloudlease" / "supervise.py"]


def codes_in_the_code() -> set[str]:
    """Every ``EX_*`` constant and every literal ``return N`` of the CLI and the supervisor."""
    codes: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(name.startswith("EX_") for name in names):
                    codes.add(str(node.value.value))
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
                returned = node.value.value
                codes |= {str(returned)} if type(returned) is int else set()
    return codes | {"N"}  # run returns the command's own code


def codes_in_help() -> set[str]:
    help_text = cli._parser().format_help()
    listed = help_text.split("exit codes:\n", 1)[1]
    return set(re.findall(r"^  (\d+|N) ", listed, re.M))


def codes_in_the_reference() -> set[str]:
    text = (ROOT / "docs" / "cli.md").read_text()
    table = text.split("## Exit codes", 1)[1]
    return set(re.findall(r"^\| (\d+|N) \|", table, re.M))


def test_the_code_returns_the_codes_we_expect() -> None:
    assert codes_in_the_code() == {"0", "1", "2", "69", "75", "76", "127", "N"}


def test_help_lists_every_exit_code_the_code_returns() -> None:
    assert codes_in_help() == codes_in_the_code()
    assert "128+N when signal N ended it" in cli.EXIT_CODES


def test_the_cli_reference_lists_every_exit_code_the_code_returns() -> None:
    assert codes_in_the_reference() == codes_in_the_code()


def test_version_names_the_core_and_each_installed_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"cloudlease {__version__}"
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    providers = sorted(name for name in names if name.startswith("cloudlease-"))
    assert [line.split()[:2] for line in lines[1:]] == [[name, __version__] for name in providers]
    if "cloudlease-dynamodb" in providers:
        assert f"cloudlease-dynamodb {__version__} (dynamodb://)" in lines
