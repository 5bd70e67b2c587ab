# A Cloud Run job started by Cloud Scheduler; overlapping executions (a retried trigger, a
# manual run) elect one runner through a Firestore lease.

resource "google_service_account" "job" {
  project      = var.project
  account_id   = var.name
  display_name = "${var.name} (Cloud Run job)"
}

resource "google_service_account" "scheduler" {
  project      = var.project
  account_id   = "${substr(var.name, 0, 24)}-sched"
  display_name = "${var.name} (Cloud Scheduler trigger)"
}

module "leases" {
  source = "../../firestore"

  project                 = var.project
  database_create_enabled = var.database_create_enabled
  location_id             = var.firestore_location_id
  iam_member_enabled      = true
  service_account_email   = google_service_account.job.email
}

resource "google_cloud_run_v2_job" "this" {
  project  = var.project
  name     = var.name
  location = var.region

  template {
    task_count = 1

    template {
      service_account = google_service_account.job.email
      timeout         = "${var.task_timeout_seconds}s"
      max_retries     = 1

      containers {
        image = var.image

        env {
          name  = "CLOUDLEASE_STORE"
          value = module.leases.store_url
        }
        env {
          name  = "CLOUDLEASE_LEASE"
          value = var.lease_name
        }
      }
    }
  }
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  project  = var.project
  location = google_cloud_run_v2_job.this.location
  name     = google_cloud_run_v2_job.this.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "this" {
  project   = var.project
  region    = var.region
  name      = var.name
  schedule  = var.schedule
  time_zone = var.time_zone

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project}/locations/${var.region}/jobs/${google_cloud_run_v2_job.this.name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler]
}
