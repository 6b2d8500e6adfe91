# Log-based metrics over the JSON lines the function writes to stdout (jsonPayload.*), and the
# alerts built on them. The field names are the log contract of shared/log-events.ts; the
# README's "Alerts" section explains each alert. test/terraform.test.ts checks that every
# jsonPayload field named here is one the code emits.
locals {
  # Cloud Run writes a 2nd gen function's logs under its service, which has the function's name.
  log_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.function_name}\""

  # Alert windows, in schedule periods (scheduler.tf): a window of two periods always holds a
  # pass, so a sparse metric never looks "missing" between two passes.
  window_2_periods = "${2 * local.schedule_period_seconds}s"
  window_3_periods = "${3 * local.schedule_period_seconds}s"

  # Named here rather than read back from the resources so that the dashboard (dashboard.tf)
  # renders without them; alerts still refer to the resources, which orders their creation.
  metric_name = {
    actions             = "${var.function_name}/actions"
    passes              = "${var.function_name}/passes"
    pass_duration       = "${var.function_name}/pass_duration"
    group_healthy_ratio = "${var.function_name}/group_healthy_ratio"
    group_healthy       = "${var.function_name}/group_healthy"
    group_desired       = "${var.function_name}/group_desired"
    soonest_expiry      = "${var.function_name}/soonest_expiry_hours"
    brakes              = "${var.function_name}/brakes"
    rollouts_halted     = "${var.function_name}/rollouts_halted"
  }
}

# --- metrics ----------------------------------------------------------------------------------

resource "google_logging_metric" "actions" {
  project     = var.project_id
  name        = local.metric_name.actions
  description = "Lease actions (create, renew, vacate), by reason, outcome and group. Dry-run actions have outcome dry-run."
  filter      = "${local.log_filter} AND (jsonPayload.event=\"lease.create\" OR jsonPayload.event=\"lease.renew\" OR jsonPayload.event=\"lease.vacate\")"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "event"
      value_type  = "STRING"
      description = "lease.create, lease.renew or lease.vacate"
    }
    labels {
      key         = "reason"
      value_type  = "STRING"
      description = "missing, dead, quarantined, outdated, excess, orphaned, retired, expiring, deficit or backfill"
    }
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "ok, error, skipped or dry-run"
    }
    labels {
      key         = "swarming_host"
      value_type  = "STRING"
      description = "Swarming host of the lease's group"
    }
    labels {
      key         = "group"
      value_type  = "STRING"
      description = "Bot hostname prefix of the group (empty for orphaned leases)"
    }
  }

  label_extractors = {
    event         = "EXTRACT(jsonPayload.event)"
    reason        = "EXTRACT(jsonPayload.reason)"
    outcome       = "EXTRACT(jsonPayload.outcome)"
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
    group         = "EXTRACT(jsonPayload.group)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "passes" {
  project     = var.project_id
  name        = local.metric_name.passes
  description = "Completed reconcile passes (one pass.summary each), by outcome."
  filter      = "${local.log_filter} AND jsonPayload.event=\"pass.summary\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "ok or failed"
    }
  }

  label_extractors = {
    outcome = "EXTRACT(jsonPayload.outcome)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "pass_duration" {
  project     = var.project_id
  name        = local.metric_name.pass_duration
  description = "Wall time of one reconcile pass."
  filter      = "${local.log_filter} AND jsonPayload.event=\"pass.summary\""

  value_extractor = "EXTRACT(jsonPayload.durationMs)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "ok or failed"
    }
  }

  label_extractors = {
    outcome = "EXTRACT(jsonPayload.outcome)"
  }

  bucket_options {
    # 250 ms to about 68 min.
    exponential_buckets {
      num_finite_buckets = 14
      growth_factor      = 2
      scale              = 250
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "group_healthy_ratio" {
  project     = var.project_id
  name        = local.metric_name.group_healthy_ratio
  description = "Healthy leases of a group divided by its configured count (1 when the count is 0), one point per pass."
  # Left out while the group's host is blind: health unknown is not zero.
  filter = "${local.log_filter} AND jsonPayload.event=\"group.status\" AND jsonPayload.healthyRatio:*"

  value_extractor = "EXTRACT(jsonPayload.healthyRatio)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
    labels {
      key        = "swarming_host"
      value_type = "STRING"
    }
    labels {
      key        = "group"
      value_type = "STRING"
    }
  }

  label_extractors = {
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
    group         = "EXTRACT(jsonPayload.group)"
  }

  bucket_options {
    linear_buckets {
      num_finite_buckets = 30
      width              = 0.05
      offset             = 0
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "group_healthy" {
  project     = var.project_id
  name        = local.metric_name.group_healthy
  description = "Healthy leases (bot alive, idle or busy) of a group, one point per pass."
  filter      = "${local.log_filter} AND jsonPayload.event=\"group.status\""

  value_extractor = "EXTRACT(jsonPayload.healthy)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
    labels {
      key        = "swarming_host"
      value_type = "STRING"
    }
    labels {
      key        = "group"
      value_type = "STRING"
    }
  }

  label_extractors = {
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
    group         = "EXTRACT(jsonPayload.group)"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "group_desired" {
  project     = var.project_id
  name        = local.metric_name.group_desired
  description = "Configured count of a group, one point per pass."
  filter      = "${local.log_filter} AND jsonPayload.event=\"group.status\""

  value_extractor = "EXTRACT(jsonPayload.desired)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
    labels {
      key        = "swarming_host"
      value_type = "STRING"
    }
    labels {
      key        = "group"
      value_type = "STRING"
    }
  }

  label_extractors = {
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
    group         = "EXTRACT(jsonPayload.group)"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "soonest_expiry" {
  project     = var.project_id
  name        = local.metric_name.soonest_expiry
  description = "Hours until the soonest-expiring managed lease expires, one point per pass (none when there is no managed lease)."
  # The field is absent when there is no managed lease; such summaries are not points.
  filter = "${local.log_filter} AND jsonPayload.event=\"pass.summary\" AND jsonPayload.soonestExpiryHours:*"

  value_extractor = "EXTRACT(jsonPayload.soonestExpiryHours)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "h"
  }

  bucket_options {
    linear_buckets {
      num_finite_buckets = 26
      width              = 1
      offset             = 0
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "rollouts_halted" {
  project     = var.project_id
  name        = local.metric_name.rollouts_halted
  description = "Groups whose image has not booted on any lease, so their rollout is halted: one point per group per pass."
  filter      = "${local.log_filter} AND jsonPayload.event=\"group.status\" AND jsonPayload.rolloutHalted=true"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "swarming_host"
      value_type  = "STRING"
      description = "Swarming host of the group"
    }
    labels {
      key         = "group"
      value_type  = "STRING"
      description = "Bot hostname prefix of the group"
    }
  }

  label_extractors = {
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
    group         = "EXTRACT(jsonPayload.group)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "brakes" {
  project     = var.project_id
  name        = local.metric_name.brakes
  description = "Safety brake engagements: a pass wanted more health vacates on a swarming host than the brake allows, and did none."
  filter      = "${local.log_filter} AND jsonPayload.event=\"safety.brake\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "swarming_host"
      value_type = "STRING"
    }
  }

  label_extractors = {
    swarming_host = "EXTRACT(jsonPayload.swarmingHost)"
  }

  depends_on = [google_project_service.apis]
}

# --- alerts -----------------------------------------------------------------------------------
# Every condition reduces across series: a log-based metric has one series per Cloud Run
# revision, and a deploy must not look like data stopping or starting.

locals {
  metric_type = { for key, metric in {
    actions             = google_logging_metric.actions
    passes              = google_logging_metric.passes
    group_healthy_ratio = google_logging_metric.group_healthy_ratio
    soonest_expiry      = google_logging_metric.soonest_expiry
    brakes              = google_logging_metric.brakes
    rollouts_halted     = google_logging_metric.rollouts_halted
  } : key => "metric.type=\"logging.googleapis.com/user/${metric.name}\" AND resource.type=\"cloud_run_revision\"" }
}

resource "google_monitoring_alert_policy" "pass_failed" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): reconcile passes failing"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Two or more failed passes within three schedule periods"
    condition_threshold {
      filter                  = "${local.metric_type.passes} AND metric.label.outcome=\"failed\""
      comparison              = "COMPARISON_GT"
      threshold_value         = 1
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = local.window_3_periods
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **makemac passes are failing.** At least two of the last three reconcile passes ended with
      outcome `failed`. A pass fails when MacService could not be read (nothing was changed), a
      Swarming host was *blind* (unlisted, or listing no bots while it has leases past boot grace:
      no health vacates there, renewals continue), the safety brake engaged, or an action failed.

      **What to do:** in Logs Explorer, query
      `resource.labels.service_name="${var.function_name}" jsonPayload.event="pass.summary" jsonPayload.outcome="failed"`
      and read `failures` and `blindHosts`; then the pass's `observe.error` entries (same `passId`)
      for the API error, or the `lease.*` entries with `outcome="error"`. A MacService or Swarming
      outage needs no action: passes resume by themselves, renewals keep leases alive meanwhile.
      Auth errors (401/403) mean the API key secret or the runtime account's Swarming pool
      permission is wrong. See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "brake" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): safety brake engaged"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Safety brake engaged on a swarming host"
    condition_threshold {
      filter                  = local.metric_type.brakes
      comparison              = "COMPARISON_GT"
      threshold_value         = 0
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = local.window_2_periods
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.swarming_host"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **makemac's safety brake engaged on $${metric.label.swarming_host}.** A pass wanted to vacate
      more leases for health reasons (missing, dead, quarantined) than the brake allows — more
      than max(`brake_minimum`, `brake_fraction` × managed leases) — so it vacated none of them.
      Mass "unhealthy" verdicts usually mean Swarming, the pool, or a new image is broken, not the VMs.

      **What to do:** read the `safety.brake` entry (`wanted`, `limit`) and the pass's
      `group.status` entries. Check the Swarming server and pool in its UI, and whether an image
      rollout is under way. If the bots really are dead and replacing them is right, vacate some
      by hand or raise `brake_minimum`/`brake_fraction` for one apply, then restore them.
      Never disable the brake to silence this alert. See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "no_pass" {
  project      = var.project_id
  display_name = "makemac (${var.function_name}): no reconcile pass"
  combiner     = "OR"
  severity     = "CRITICAL"
  # A paused scheduler runs no passes on purpose.
  enabled               = !var.paused
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "No pass summary for three schedule periods"
    condition_absent {
      filter   = local.metric_type.passes
      duration = local.window_3_periods
      aggregations {
        alignment_period     = "${local.schedule_period_seconds}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **No makemac pass has completed for three schedule periods.** Nothing renews leases while
      this lasts: after about a day without passes the whole fleet expires.

      **What to do:** check the Cloud Scheduler job `${var.function_name}` (paused? last attempt
      status?), then the function's logs for `config.error` (bad MAKEMAC_CONFIG: fix the
      Terraform variables and apply), crashes, or timeouts (a pass past the function timeout is
      killed before it logs its summary). 401/403 from Scheduler means the scheduler account lost
      `roles/run.invoker`. A failed deploy (Cloud Build) leaves the previous revision serving.
      Run a pass by hand with `gcloud scheduler jobs run ${var.function_name} --location=${var.region}`.
      See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "capacity" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): group below healthy capacity"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Healthy ratio below ${var.capacity_alert_ratio} for an hour"
    condition_threshold {
      filter                  = local.metric_type.group_healthy_ratio
      comparison              = "COMPARISON_LT"
      threshold_value         = var.capacity_alert_ratio
      duration                = "3600s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period = local.window_2_periods
        # The mean of a distribution is exact (not bucketed): with one point per pass it is the
        # group's healthy ratio itself.
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_MEAN"
        group_by_fields      = ["metric.label.swarming_host", "metric.label.group"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **Group $${metric.label.group} on $${metric.label.swarming_host} has had fewer than
      ${var.capacity_alert_ratio * 100}% of its configured count healthy for an hour.**

      **What to do:** read the group's latest `group.status` entry (`booting`, `unhealthy`,
      `outdated`, `failed`). Many `booting`/`missing` leases: the image does not boot or the bot
      cannot reach Swarming (cert/key secrets, pool membership). Creates failing: see the
      "lease creates or renewals failing" alert, often MacService quota. An image rollout that
      never becomes healthy stalls here by design: roll the image back in the Terraform variables.
      Deferred or refused actions (`action.deferred`, `action.refused`) say which limit holds
      the group back. See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "expiry" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): a lease expires soon"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Soonest managed lease expiry under ${var.expiry_alert_hours} hours"
    condition_threshold {
      filter                  = local.metric_type.soonest_expiry
      comparison              = "COMPARISON_LT"
      threshold_value         = var.expiry_alert_hours
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = local.window_2_periods
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_MIN"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **A managed lease expires in under ${var.expiry_alert_hours} hours.** Kept leases are renewed
      once their expiry is under `renew_before` (22 h by default), so this means renewals have
      been failing, or not attempted, for many hours. When leases expire, MacService reclaims the
      VMs and their bots vanish mid-task.

      **What to do:** look for `lease.renew` entries with `outcome="error"` (the `error` field
      says why: quota, 403 from a bad API key, 404 for a lease MacService already dropped) and for
      passes that fail before acting (`observe.error` with `source="macservice"` stops all
      mutations). A lease that is deliberately kept but never renewed, e.g. an outdated lease held
      by a stalled rollout, also shows here. See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "action_errors" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): lease creates or renewals failing"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "More than ${var.action_error_alert_count} failed creates or renews in 30 minutes"
    condition_threshold {
      filter                  = "${local.metric_type.actions} AND metric.label.outcome=\"error\" AND metric.label.event=one_of(\"lease.create\", \"lease.renew\")"
      comparison              = "COMPARISON_GT"
      threshold_value         = var.action_error_alert_count
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "1800s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.event"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **makemac keeps failing to $${metric.label.event}.** More than ${var.action_error_alert_count}
      lease actions of this kind failed (after their retries) in 30 minutes.

      **What to do:** read the failing `lease.create`/`lease.renew` entries' `error`, `reason`,
      `group` and `attempts`. Typical causes: MacService quota or capacity exhausted (creates),
      an image SHA-256 MacService does not know (creates for one group only), a revoked API key
      (everything, with 401/403), or MacService errors/timeouts during an outage. Failed renewals
      are urgent: a lease that is never renewed expires within a day. A create whose outcome is
      unknown (timeout) is not retried in the same pass; the next pass sees whether it exists.
      See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "boot_failures" {
  project               = var.project_id
  display_name          = "makemac (${var.function_name}): new VMs are not booting"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "More than ${var.boot_failure_alert_count} leases of one group vacated as missing in 3 hours"
    condition_threshold {
      # Dry-run passes count too: they show the same failing boots without acting on them.
      filter                  = "${local.metric_type.actions} AND metric.label.event=\"lease.vacate\" AND metric.label.reason=\"missing\""
      comparison              = "COMPARISON_GT"
      threshold_value         = var.boot_failure_alert_count
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "10800s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.swarming_host", "metric.label.group"]
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "A group's rollout is halted: its image has not booted on any lease"
    condition_threshold {
      filter                  = local.metric_type.rollouts_halted
      comparison              = "COMPARISON_GT"
      threshold_value         = 0
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "1800s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.swarming_host", "metric.label.group"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      **Leases of group $${metric.label.group} keep coming up without a bot.** More than
      ${var.boot_failure_alert_count} of its leases were vacated as `missing` (no bot within the
      boot grace) in 3 hours: makemac creates VMs, they never join Swarming, and it replaces them.
      During an image rollout two such failures halt the rollout (`group.status` shows
      `rolloutHalted: true`): old leases keep serving, no outdated lease is vacated, and lost
      capacity is backfilled on the last known good image (`backfillImage`; reason `backfill`).
      With no healthy lease at all (`backfillImage` null) nothing can be backfilled and the group
      stays below its count until the image is fixed.

      **What to do:** check the group's image SHA-256 (a new image that does not boot: put the old
      one back), its bot certificate and key secrets (expired or swapped), and that the pool in
      the config is the one the image's bot joins. The `lease.vacate` entries with
      `reason="missing"` name the leases; their `detail` says how long each had no bot.
      See the README, "Alerts".
    EOT
  }

  depends_on = [google_project_service.apis]
}
