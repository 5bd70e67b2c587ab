# Test-only root module: terraform/s3 applied against a moto server on loopback.
# tests/terraform copies the terraform/ tree and this directory into a temporary directory
# (as terraform/_s3_moto/, with ../_shared/moto.tf: the provider and the variables), so
# "../s3" is the module under test.

module "leases" {
  source = "../s3"

  bucket                = "${var.name_prefix}-leases"
  prefix                = "leases/prod/"
  force_destroy_enabled = true
}

module "disabled" {
  source = "../s3"

  create = false
  bucket = "${var.name_prefix}-never"
}

output "leases" {
  value = module.leases
}

output "disabled" {
  value = module.disabled
}
