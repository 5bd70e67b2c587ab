# Test-only root module: terraform/dynamodb applied against a moto server on loopback.
# tests/terraform copies the terraform/ tree and this directory into a temporary directory
# (as terraform/_dynamodb_moto/, with ../_shared/moto.tf: the provider and the variables), so
# "../dynamodb" is the module under test.

# Defaults, except deletion protection (so that destroy can run).
module "leases" {
  source = "../dynamodb"

  name                        = "${var.name_prefix}-leases"
  deletion_protection_enabled = false
  tags                        = { purpose = "cloudlease-test" }
}

# Restricted to lease name prefixes, with the init permissions.
module "restricted" {
  source = "../dynamodb"

  name                        = "${var.name_prefix}-restricted"
  deletion_protection_enabled = false
  lease_name_prefixes         = ["jobs-", "nightly."]
  init_permissions_enabled    = true
  ttl_attribute               = "expire_after"
}

# create = false: nothing is created, every output is null.
module "disabled" {
  source = "../dynamodb"

  create = false
  name   = "${var.name_prefix}-never"
}

# The policy must be accepted by an IAM API (moto parses it as IAM does).
resource "aws_iam_policy" "leases" {
  name   = "${var.name_prefix}-leases"
  policy = module.leases.iam_policy_json
}

resource "aws_iam_policy" "restricted" {
  name   = "${var.name_prefix}-restricted"
  policy = module.restricted.iam_policy_json
}

output "leases" {
  value = module.leases
}

output "restricted" {
  value = module.restricted
}

output "disabled" {
  value = module.disabled
}
