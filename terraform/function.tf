locals {
  # The timing chain of one pass; each must end before the next gives up:
  #   policy.pass_deadline (default 4m = 240 s: actions not started by then are skipped)
  #   + policy.request_timeout (default 30 s: a request in flight then may take this long)
  #   < function timeout (the instance is killed at 300 s, mid-mutation, with no summary logged)
  #   <= Scheduler attempt_deadline (Scheduler stops waiting and records DEADLINE_EXCEEDED).
  function_timeout_seconds = 300
  attempt_deadline_seconds = 320

  pass_deadline_seconds   = module.fleet_config.pass_deadline_seconds
  request_timeout_seconds = module.fleet_config.request_timeout_seconds
}

resource "google_cloudfunctions2_function" "reconcile" {
  project     = var.project_id
  name        = var.function_name
  location    = var.region
  description = "makemac: one reconcile pass of the MacService macOS fleet per request (POST from Cloud Scheduler)."

  build_config {
    runtime         = "nodejs22"
    entry_point     = "reconcile"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
        # The generation uploaded by this apply, so the build can never pair a new object with
        # a generation recorded earlier.
        generation = google_storage_bucket_object.source.generation
      }
    }
  }

  service_config {
    # One pass at a time, ever: passes are stateless and plan from what they observe, so two
    # overlapping passes would both see the same deficit and both create leases for it. An
    # overlapping request (a manual run during a scheduled one) waits or is refused with 429.
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_memory                 = "512M"
    timeout_seconds                  = local.function_timeout_seconds

    # ALLOW_ALL, because Cloud Scheduler calls from outside any VPC: "internal only" would reject
    # it. The function is still private: every request needs a Google-signed OIDC token of an
    # account holding roles/run.invoker on this service (only the scheduler's, iam.tf); there
    # is no allUsers binding.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.runtime.email

    environment_variables = {
      MAKEMAC_CONFIG = module.fleet_config.config_json
      # The Google libraries otherwise look the project up (metadata server or gcloud).
      GOOGLE_CLOUD_PROJECT = var.project_id
    }
  }

  lifecycle {
    precondition {
      condition     = local.pass_deadline_seconds + local.request_timeout_seconds + 10 <= local.function_timeout_seconds
      error_message = "fleet.policy.pass_deadline plus request_timeout (a request in flight at the deadline runs on until its timeout) must end at least 10 s before the function timeout (${local.function_timeout_seconds} s), so the pass can log its summary before the instance is killed."
    }
  }

  depends_on = [
    google_project_service.apis,
    # The first pass reads the secrets: grant access before it can run.
    google_secret_manager_secret_iam_member.runtime,
    google_project_iam_member.runtime_log_writer,
  ]
}
