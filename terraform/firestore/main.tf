locals {
  # The timestamp field cloudlease-firestore writes past expires_at for a TTL policy
  # (cloudlease_firestore.TTL_FIELD).
  ttl_field = "cleanup_at"
  # What the store needs: read, write and transactions on documents (cloudlease_firestore.IAM_ROLE).
  iam_role = "roles/datastore.user"

  database = var.database_create_enabled ? try(google_firestore_database.this[0].name, var.database) : var.database
}

resource "google_firestore_database" "this" {
  count = var.create && var.database_create_enabled ? 1 : 0

  project     = var.project
  name        = var.database
  location_id = var.location_id
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = var.point_in_time_recovery_enabled ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.delete_protection_enabled ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "ABANDON"

  lifecycle {
    precondition {
      condition     = var.location_id != null
      error_message = "Set location_id (e.g. eur3) when database_create_enabled is true."
    }
  }
}

resource "google_firestore_field" "this" {
  count = var.create && var.ttl_enabled ? 1 : 0

  project    = var.project
  database   = local.database
  collection = var.collection
  field      = local.ttl_field

  # Firestore deletes a lease document some time after its cleanup_at has passed.
  ttl_config {}

  # No single-field indexes on a monotonically growing timestamp: they would only cost writes.
  index_config {}
}

resource "google_project_iam_member" "this" {
  count = var.create && var.iam_member_enabled ? 1 : 0

  project = var.project
  role    = local.iam_role
  member  = "serviceAccount:${var.service_account_email}"

  dynamic "condition" {
    for_each = var.iam_database_condition_enabled ? [1] : []
    content {
      title       = "cloudlease-${replace(local.database, "/[()]/", "")}"
      description = "cloudlease leases in database ${local.database}"
      expression  = "resource.name == \"projects/${var.project}/databases/${local.database}\""
    }
  }

  lifecycle {
    precondition {
      condition     = var.service_account_email != null
      error_message = "Set service_account_email when iam_member_enabled is true."
    }
  }
}
