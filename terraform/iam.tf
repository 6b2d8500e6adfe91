# Two service accounts, each with the least it needs:
#   runtime   — the function's identity: writes logs, reads exactly the fleet's secrets
#               (secrets.tf), and lists bots in the Swarming pools (granted in LUCI, not here).
#   scheduler — Cloud Scheduler's identity: may invoke this one function, nothing else.
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.function_name}-runtime"
  display_name = "makemac function runtime"
  description  = "Runs the ${var.function_name} reconcile function: reads its secrets, writes logs, lists Swarming bots."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.function_name}-scheduler"
  display_name = "makemac scheduler"
  description  = "Cloud Scheduler's identity for calling the ${var.function_name} function."

  depends_on = [google_project_service.apis]
}

# The runtime account's only project-level role.
resource "google_project_iam_member" "runtime_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

# A 2nd gen function is served by a Cloud Run service of the same name, and Cloud Run checks
# the caller's OIDC token against run.invoker on that service (roles/cloudfunctions.invoker is
# not enough). Granted on this service only, to the scheduler only.
resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.reconcile.location
  # The service the function really runs as (projects/P/locations/L/services/S), rather than
  # its name taken to be the same.
  service = google_cloudfunctions2_function.reconcile.service_config[0].service
  role    = "roles/run.invoker"
  member  = "serviceAccount:${google_service_account.scheduler.email}"
}
