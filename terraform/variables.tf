variable "project_id" {
  description = "Google Cloud project that runs makemac and holds its secrets."
  type        = string

  validation {
    # Also the PROJECT in the `secret:PROJECT/NAME` references the config carries.
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits and hyphens), not a project number or name."
  }
}

variable "region" {
  description = "Region of the function, its Cloud Scheduler job and its source bucket."
  type        = string
  default     = "us-central1"
}

variable "function_name" {
  description = "Name of the Cloud Function (and of its Cloud Run service, scheduler job, metrics and service accounts)."
  type        = string
  default     = "makemac"

  validation {
    # Service account IDs are "<name>-runtime" and "<name>-scheduler", at most 30 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.function_name))
    error_message = "function_name must be 2-20 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "source_zip" {
  description = "The function's source archive, built by `npm run package` in the repository root. Relative paths are relative to this directory."
  type        = string
  default     = "../build/makemac.zip"

  validation {
    condition     = fileexists(var.source_zip)
    error_message = "source_zip does not exist: run `npm run package` in the repository root first."
  }
}

variable "build_service_account" {
  description = "Service account Cloud Build builds the function as, projects/PROJECT/serviceAccounts/EMAIL. It needs roles/cloudbuild.builds.builder in the project, and whoever applies needs roles/iam.serviceAccountUser on it (README \"Prerequisites\")."
  type        = string

  validation {
    # Required rather than left to the project's default build account: in new projects that is
    # the Compute Engine default account, which exists only with the Compute API enabled and, in
    # organisations that block default grants, has no roles, so the build fails minutes in.
    condition     = can(regex("^projects/[^/]+/serviceAccounts/[^/@]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must be projects/PROJECT/serviceAccounts/EMAIL of an account with roles/cloudbuild.builds.builder."
  }
}

variable "schedule" {
  description = "Cron schedule of the reconcile passes."
  type        = string
  default     = "*/10 * * * *"
}

variable "schedule_period_minutes" {
  description = "Minutes between two passes, for the alert windows. null: read from a schedule of the form \"*/N * * * *\" (required for any other schedule)."
  type        = number
  default     = null

  validation {
    condition     = var.schedule_period_minutes == null ? true : var.schedule_period_minutes >= 1 && floor(var.schedule_period_minutes) == var.schedule_period_minutes
    error_message = "schedule_period_minutes must be a whole number of minutes, at least 1."
  }

  validation {
    # Referring to another variable here needs Terraform 1.9 (versions.tf).
    condition     = var.schedule_period_minutes != null || can(regex("^\\*/([0-9]+) \\* \\* \\* \\*$", var.schedule))
    error_message = "Set schedule_period_minutes: the schedule is not of the form \"*/N * * * *\", so the alert windows cannot be derived from it."
  }
}

variable "time_zone" {
  description = "Time zone the schedule is read in (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "fleet" {
  description = <<-EOT
    The fleet, as the product config states it (README "Configuration"): macservice, swarming
    hosts with their groups, retired_hosts, and policy knobs in snake_case. Its type and every check the
    product makes live in modules/fleet-config, which renders the config the function runs with.
  EOT
  # The module states the type: a second copy here could only drift from it.
  type = any
}

variable "dry_run" {
  description = "Run every pass in dry-run mode: observe, plan and log every action, mutate nothing."
  type        = bool
  default     = false
}

variable "paused" {
  description = "Pause the Cloud Scheduler job (no passes run). The no-pass alert is disabled while paused."
  type        = bool
  default     = false
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channel IDs (projects/P/notificationChannels/N) every alert notifies."
  type        = list(string)
  default     = []
}

variable "capacity_alert_ratio" {
  description = "Alert when a group's healthy/desired ratio stays below this for an hour."
  type        = number
  default     = 0.8

  validation {
    condition     = var.capacity_alert_ratio > 0 && var.capacity_alert_ratio <= 1
    error_message = "capacity_alert_ratio must be in (0, 1]."
  }
}

variable "expiry_alert_hours" {
  description = "Alert when the soonest expiry of a managed lease is closer than this many hours (renewal normally keeps it above 22)."
  type        = number
  default     = 6
}

variable "action_error_alert_count" {
  description = "Alert when more than this many lease creates or renews (of one kind) fail within 30 minutes."
  type        = number
  default     = 5
}

variable "boot_failure_alert_count" {
  description = "Alert when more than this many leases of one group are vacated as missing (never booted) within 3 hours."
  type        = number
  default     = 3
}
