output "gcs_bucket_name" {
  description = "Name of the lease bucket."
  value       = try(google_storage_bucket.this[0].name, null)
}

output "gcs_bucket_url" {
  description = "gs:// URL of the lease bucket."
  value       = try(google_storage_bucket.this[0].url, null)
}

output "store_url" {
  description = "The cloudlease store URL, e.g. gs://my-bucket/cloudlease/ (for CLOUDLEASE_STORE or open_store())."
  value       = local.store_url
}

output "iam_role" {
  description = "The role granted to members on the bucket, limited to the prefix by an IAM condition."
  value       = var.create ? local.iam_role : null
}
