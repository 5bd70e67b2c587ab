# Test-only root module: terraform/dynamodb applied against a moto server on loopback.
# tests/terraform copies the terraform/ tree and this directory into
# a temporary directory (as terraform/_dynamodb_moto/), so "../dynamodb" is the module under test.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

variable "endpoint" {
  description = "The moto server, e.g. http://127.0.0.1:5000 (loopback only)."
  type        = string

  validation {
    condition     = can(regex("^http://127\\.0\\.0\\.1:[0-9]+$", var.endpoint))
    error_message = "The test root module only talks to a server on 127.0.0.1."
  }
}

variable "name_prefix" {
  description = "Prefix of the tables this run creates."
  type        = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    dynamodb = var.endpoint
    iam      = var.endpoint
    sts      = var.endpoint
  }
}

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
