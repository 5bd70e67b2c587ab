"""The modules' shape: terraform-aws-modules layout, typed and described variables, READMEs."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.terraform.conftest import ROOTS
from tests.terraform.hcl import EXAMPLES, LAYOUT, MODULES, TERRAFORM, Module
from tests.terraform.tf import Terraform

ALL = [*MODULES, *EXAMPLES]


def test_terraform_fmt_check_passes_on_the_whole_tree(
    terraform: Callable[[str], Terraform],
) -> None:
    for tree in (TERRAFORM, ROOTS):
        result = terraform(".").run("fmt", "-check", "-recursive", "-diff", str(tree), check=False)
        assert result.returncode == 0, (
            f"terraform fmt would change:\n{result.stdout}{result.stderr}"
        )


def test_the_tree_holds_exactly_the_known_modules_and_examples() -> None:
    found = {
        str(path.parent.relative_to(TERRAFORM))
        for path in TERRAFORM.rglob("versions.tf")
        if ".terraform" not in path.parts
    }
    assert found == set(ALL)


@pytest.mark.parametrize("relative", ALL)
def test_every_directory_has_the_standard_files(relative: str) -> None:
    missing = [name for name in LAYOUT if not (TERRAFORM / relative / name).is_file()]
    assert not missing, f"terraform/{relative} lacks {missing}"


@pytest.mark.parametrize("relative", ALL)
def test_each_directory_requires_only_its_own_provider(relative: str) -> None:
    expected = {**MODULES, **EXAMPLES}[relative]
    assert Module.read(relative).providers == {expected}


@pytest.mark.parametrize("relative", ALL)
def test_every_variable_is_typed_and_described(relative: str) -> None:
    for name, body in Module.read(relative).variables.items():
        assert body.get("type"), f"{relative}: variable {name} has no type"
        assert len(body.get("description", "")) > 10, f"{relative}: variable {name} undescribed"


@pytest.mark.parametrize("relative", ALL)
def test_every_output_is_described(relative: str) -> None:
    for name, body in Module.read(relative).outputs.items():
        assert len(body.get("description", "")) > 10, f"{relative}: output {name} undescribed"


@pytest.mark.parametrize("relative", ALL)
def test_booleans_end_with_enabled(relative: str) -> None:
    for name, body in Module.read(relative).variables.items():
        if body["type"] == "${bool}" or body["type"] == "bool":
            assert name == "create" or name.endswith("_enabled"), f"{relative}: {name}"


@pytest.mark.parametrize("relative", list(MODULES))
def test_modules_have_a_create_flag_and_resources_named_this(relative: str) -> None:
    module = Module.read(relative)
    assert module.variables["create"]["default"] is True
    for kind, named in module.resources.items():
        assert set(named) == {"this"}, f"{relative}: {kind} named {sorted(named)}"
        assert "var.create" in str(named["this"].get("count")), f"{relative}: {kind} ignores create"


@pytest.mark.parametrize("relative", list(MODULES))
def test_constrained_string_variables_have_a_validation(relative: str) -> None:
    free_text = {"tags", "resource_group_name", "location"}
    for name, body in Module.read(relative).variables.items():
        if "string" in str(body["type"]) and name not in free_text:
            assert body.get("validation"), f"{relative}: variable {name} has no validation block"


@pytest.mark.parametrize("relative", ALL)
def test_readme_documents_every_input_and_output(relative: str) -> None:
    module = Module.read(relative)
    readme = (TERRAFORM / relative / "README.md").read_text()
    assert re.search(r"^## Inputs", readme, re.M) and re.search(r"^## Outputs", readme, re.M)
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, re.M))
    undocumented = (set(module.variables) | set(module.outputs)) - rows
    assert not undocumented, f"terraform/{relative}/README.md lacks rows for {undocumented}"
    stale = rows - set(module.variables) - set(module.outputs)
    assert not stale, f"terraform/{relative}/README.md documents unknown {stale}"
