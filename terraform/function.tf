locals {
  # The timing chain of one pass; each must end before the next gives up:
  #   policy.pass_deadline (default 4m = 240 s: actions not started by then are skipped)
  #   + policy.request_timeout (default 30 s: a request in flight then may take this long)
  #   < function timeout (the instance is killed at 300 s, mid-mutation, with no summary logged)
  #   <= Scheduler attempt_deadline (Scheduler stops waiting and records DEADLINE_EXCEEDED).
  function_timeout_seconds = 300
  attempt_deadline_seconds = 320

  duration_unit_seconds = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400 }
  # "4m" is policySchema's default for passDeadline (shared/config/schema.ts).
  pass_deadline_parts   = regex("^([0-9.]+)(ms|s|m|h|d)$", try(var.fleet.policy.pass_deadline, "4m"))
  pass_deadline_seconds = tonumber(local.pass_deadline_parts[0]) * local.duration_unit_seconds[local.pass_deadline_parts[1]]
  # A request in flight at the deadline runs on until its own timeout (default 30s).
  request_timeout_parts   = regex("^([0-9.]+)(ms|s|m|h|d)$", try(var.fleet.policy.request_timeout, "30s"))
  request_timeout_seconds = tonumber(local.request_timeout_parts[0]) * local.duration_unit_seconds[local.request_timeout_parts[1]]

  # The product config (shared/config/schema.ts), passed whole as MAKEMAC_CONFIG. Its objects are
  # strict, so the keys below are exactly the schema's camelCase keys; optional values left null
  # here are omitted (`if v != null`) so the product applies its own defaults.
  product_config = {
    macService = { for k, v in {
      url         = var.fleet.macservice.url
      apiKey      = local.secret_refs[var.fleet.macservice.api_key_secret]
      customer    = var.fleet.macservice.customer
      profile     = var.fleet.macservice.profile
      accessLevel = var.fleet.macservice.access_level
    } : k => v if v != null }
    swarming = [for s in var.fleet.swarming : { for k, v in {
      host = s.host
      url  = s.url
      pool = s.pool
      groups = [for g in s.groups : {
        hostname = g.hostname
        image    = g.image
        count    = g.count
        cert     = local.secret_refs[g.cert_secret]
        key      = local.secret_refs[g.key_secret]
      }]
    } : k => v if v != null }]
    # snake_case knob → camelCase key: max_creates_per_pass → maxCreatesPerPass.
    policy = { for k, v in var.fleet.policy : join("", [for i, w in split("_", k) : i == 0 ? w : title(w)]) => v if v != null }
    dryRun = var.dry_run
  }
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
      MAKEMAC_CONFIG = jsonencode(local.product_config)
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
