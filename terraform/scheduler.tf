locals {
  # Minutes between passes: the alert windows are multiples of it (monitoring.tf).
  schedule_every_minutes  = try(tonumber(regex("^\\*/([0-9]+) \\* \\* \\* \\*$", var.schedule)[0]), null)
  schedule_period_minutes = var.schedule_period_minutes != null ? var.schedule_period_minutes : local.schedule_every_minutes
  schedule_period_seconds = local.schedule_period_minutes * 60
}

resource "google_cloud_scheduler_job" "reconcile" {
  project     = var.project_id
  region      = var.region
  name        = var.function_name
  description = "Runs one makemac reconcile pass."
  schedule    = var.schedule
  time_zone   = var.time_zone
  paused      = var.paused

  # At least the function's timeout (function.tf), so Scheduler records the function's own
  # answer (200 ok, 500 failed pass) rather than a deadline of its own.
  attempt_deadline = "${local.attempt_deadline_seconds}s"

  # No retries: the next scheduled pass is the retry, and it re-observes the world first.
  # A retry fired right after a failure would only add a pass racing the same outage.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.reconcile.service_config[0].uri

    # Cloud Run accepts a Google-signed ID token whose audience is the service URL.
    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.reconcile.service_config[0].uri
    }
  }

  depends_on = [
    google_project_service.apis,
    google_cloud_run_service_iam_member.scheduler_invoker,
  ]
}
