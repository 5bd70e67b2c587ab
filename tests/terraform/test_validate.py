"""``terraform init`` (local AWS mirror) + ``validate`` for everything that needs only AWS.

The google and azurerm providers are not mirrored here: those directories are checked by fmt,
python-hcl2 (test_layout, test_contract), their store_url evaluation and checkov.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.terraform.hcl import EXAMPLES, MODULES
from tests.terraform.tf import Terraform

AWS_ONLY = [name for name, provider in {**MODULES, **EXAMPLES}.items() if provider == "aws"]


def test_the_aws_only_directories_are_the_aws_modules_and_the_lambda_example() -> None:
    assert sorted(AWS_ONLY) == ["dynamodb", "examples/lambda_scheduled", "s3"]


@pytest.mark.parametrize("relative", [*AWS_ONLY, "_dynamodb_moto"])
def test_terraform_validate_succeeds(
    relative: str, initialised: Callable[[str], Terraform]
) -> None:
    result = initialised(relative).run("validate", "-json")
    assert '"valid": true' in result.stdout, result.stdout
    assert '"warning_count": 0' in result.stdout, result.stdout
