locals {
  # What cloudlease-gcs needs (cloudlease_gcs.IAM_ROLE): objects get, create, delete (replacing
  # an object needs it) and list.
  iam_role  = "roles/storage.objectUser"
  store_url = var.create ? "gs://${var.bucket}/${var.prefix}" : null
}

resource "google_storage_bucket" "this" {
  count = var.create ? 1 : 0

  project                     = var.project
  name                        = var.bucket
  location                    = var.location
  force_destroy               = var.force_destroy_enabled
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  # checkov:skip=CKV_GCP_62:Access logs are left to Cloud Audit Logs (data access) of the project; a log bucket per lease bucket is not this module's call.
  # checkov:skip=CKV_GCP_78:Versioning would keep a noncurrent generation per renewal (every ttl/3); lease objects are rewritten state, not data to recover.

  dynamic "lifecycle_rule" {
    for_each = var.lifecycle_enabled ? [1] : []
    content {
      action {
        type = "Delete"
      }
      condition {
        age            = var.lifecycle_expiration_days
        matches_prefix = [var.prefix]
      }
    }
  }
}

resource "google_storage_bucket_iam_member" "this" {
  count = var.create ? length(var.members) : 0

  bucket = google_storage_bucket.this[0].name
  role   = local.iam_role
  member = var.members[count.index]

  condition {
    title       = "cloudlease-prefix"
    description = "Only the lease objects under ${var.prefix}."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.bucket}/objects/${var.prefix}\") || resource.type == \"storage.googleapis.com/Bucket\""
  }
}
