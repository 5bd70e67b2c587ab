"""Every distribution (cloudlease and providers/*) ships the same license, version and metadata.

Each distribution has one version source, the ``__version__`` line of its package that hatch
reads (``[tool.hatch.version]``); these tests hold the six together, with the installed
metadata, the providers' pins on cloudlease, the CHANGELOG and the checked Python versions.
"""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; 3.10 runs the library, not this check

import cloudlease  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = sorted(path.parent for path in ROOT.glob("providers/*/pyproject.toml"))
DISTRIBUTIONS = [ROOT, *PROVIDERS]


def pyproject(where: Path) -> dict[str, Any]:
    with (where / "pyproject.toml").open("rb") as file:
        data: dict[str, Any] = tomllib.load(file)
    return data


def source_version(where: Path) -> str:
    """The version hatch builds with: the ``__version__`` assignment in the configured file."""
    path = where / pyproject(where)["tool"]["hatch"]["version"]["path"]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__version__":
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError(f"no __version__ in {path}")


def python_classifiers(project: dict[str, Any]) -> list[str]:
    prefix = "Programming Language :: Python :: 3."
    return [c.removeprefix(prefix) for c in project["classifiers"] if c.startswith(prefix)]


@pytest.mark.parametrize("where", DISTRIBUTIONS, ids=lambda path: path.name)
def test_one_version_source_read_by_the_build_and_the_installed_metadata(where: Path) -> None:
    project = pyproject(where)["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert source_version(where) == cloudlease.__version__
    assert metadata.version(project["name"]) == cloudlease.__version__


@pytest.mark.parametrize("where", PROVIDERS, ids=lambda path: path.name)
def test_provider_pins_the_core_release_series_it_was_released_with(where: Path) -> None:
    major, minor, _ = cloudlease.__version__.split(".")
    pins = [d for d in pyproject(where)["project"]["dependencies"] if d.startswith("cloudlease")]
    assert pins == [f"cloudlease>={cloudlease.__version__},<{major}.{int(minor) + 1}"]


@pytest.mark.parametrize("where", DISTRIBUTIONS, ids=lambda path: path.name)
def test_license_and_full_metadata_in_every_distribution(where: Path) -> None:
    project = pyproject(where)["project"]
    assert (where / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert project["license"] == "Apache-2.0"
    assert project["readme"] == "README.md" and (where / "README.md").is_file()
    assert project["description"] and project["keywords"]
    urls = pyproject(ROOT)["tool"]["cloudlease"]["project-urls"]
    assert project.get("urls", {}) == urls  # one table, in the root pyproject, for all six
    core = pyproject(ROOT)["project"]
    assert project["classifiers"] == core["classifiers"]
    assert project["requires-python"] == core["requires-python"]


def test_apache_license_full_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX" in text


def test_classifiers_claim_the_checked_pythons_from_the_lowest_that_ruff_and_mypy_target() -> None:
    config = pyproject(ROOT)
    lowest = config["project"]["requires-python"].removeprefix(">=3.")
    assert config["tool"]["ruff"]["target-version"] == f"py3{lowest}"
    assert config["tool"]["mypy"]["python_version"] == f"3.{lowest}"
    claimed = python_classifiers(config["project"])
    assert claimed[0] == lowest
    assert claimed == [str(minor) for minor in range(int(lowest), int(lowest) + len(claimed))]
    ci = (ROOT / "scripts" / "pythons.sh").read_text()
    assert re.findall(r"^CHECKED=\"(.*)\"$", ci, re.M) == [" ".join(f"3.{m}" for m in claimed)]


def test_changelog_has_the_release_and_an_empty_unreleased_section_above() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[(.+?)\](.*)$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    assert headings[1][0] == cloudlease.__version__
    assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", headings[1][1])


@pytest.mark.parametrize("where", DISTRIBUTIONS, ids=lambda path: path.name)
def test_readmes_read_on_a_package_index_page_no_repo_relative_links(where: Path) -> None:
    links = re.findall(r"\]\(([^)]+)\)", (where / "README.md").read_text())
    assert [link for link in links if not link.startswith(("https://", "#"))] == []


def test_readme_has_an_install_line_for_each_extra_and_the_quickstart_as_it_was() -> None:
    readme = (ROOT / "README.md").read_text()
    extras = set(pyproject(ROOT)["project"]["optional-dependencies"]) - {"all"}
    assert set(re.findall(r'^pip install "cloudlease\[(\w+)\]"', readme, re.M)) == extras
    assert "```sh\npython3 -m cloudlease demo\n./scripts/test.sh\n```" in readme


@pytest.mark.parametrize("where", PROVIDERS, ids=lambda path: path.name)
def test_each_provider_readme_has_the_install_line_of_its_extra(where: Path) -> None:
    name = pyproject(where)["project"]["name"]
    extras = pyproject(ROOT)["project"]["optional-dependencies"]
    extra = next(key for key, value in extras.items() if value == [name])
    assert f'pip install "cloudlease[{extra}]"' in (where / "README.md").read_text()
