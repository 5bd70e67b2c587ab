output "job_name" {
  description = "Name of the Cloud Run job."
  value       = google_cloud_run_v2_job.this.name
}

output "store_url" {
  description = "Store URL the job uses (CLOUDLEASE_STORE)."
  value       = module.leases.store_url
}

output "job_service_account_email" {
  description = "Service account the job runs as (granted roles/datastore.user)."
  value       = google_service_account.job.email
}

output "scheduler_job_name" {
  description = "Name of the Cloud Scheduler job that starts the Cloud Run job."
  value       = google_cloud_scheduler_job.this.name
}
