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
  description = "Service account Cloud Build uses to build the function, as projects/PROJECT/serviceAccounts/EMAIL. null: the project's default build account."
  type        = string
  default     = null
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
    The fleet, as the product config states it (README "Config"). Secrets are named by their
    Secret Manager short name in this project; Terraform creates each secret (never its value)
    and turns the name into a `secret:PROJECT/NAME` reference. Policy knobs are the config's
    policy keys in snake_case (boot_grace, max_surge, ...); unset knobs take the product's defaults.
  EOT
  type = object({
    macservice = object({
      url            = optional(string)
      api_key_secret = string
      customer       = string
      profile        = optional(string)
      access_level   = optional(string)
    })
    swarming = list(object({
      host = string
      url  = optional(string)
      pool = string
      groups = list(object({
        hostname    = string
        image       = string
        count       = number
        cert_secret = string
        key_secret  = string
      }))
    }))
    # `any`, not an object type: Terraform silently drops unknown attributes of an object, so a
    # misspelt knob would vanish; here every key is checked below, and numbers stay numbers.
    policy = optional(any, {})
  })

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.fleet.macservice.customer))
    error_message = "fleet.macservice.customer must be lowercase letters, digits and \"-\"."
  }

  validation {
    condition     = length(distinct([for s in var.fleet.swarming : s.host])) == length(var.fleet.swarming)
    error_message = "fleet.swarming: each swarming host may appear only once."
  }

  validation {
    condition = alltrue([for s in var.fleet.swarming : can(regex("^[a-z0-9.-]+(:[0-9]+)?$", s.host))])
    # The host is also the lease tag makemac/<host>: a URL here would orphan every lease.
    error_message = "fleet.swarming[*].host must be a host name such as chromium-swarm.appspot.com (no scheme or path)."
  }

  validation {
    condition     = alltrue([for s in var.fleet.swarming : length(distinct([for g in s.groups : g.hostname])) == length(s.groups)])
    error_message = "fleet.swarming[*].groups: hostnames must be unique under each swarming host."
  }

  validation {
    condition     = alltrue([for s in var.fleet.swarming : length(distinct([for g in s.groups : g.image])) == length(s.groups)])
    error_message = "fleet.swarming[*].groups: images must be unique under each swarming host (a lease's image names its group)."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[a-z0-9][a-z0-9.-]*$", g.hostname)) && !strcontains(g.hostname, "--")]]))
    error_message = "fleet.swarming[*].groups[*].hostname must be lowercase letters, digits, \"-\" and \".\", without \"--\" (it separates the prefix from the lease id in bot ids)."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[0-9a-f]{64}$", g.image))]]))
    error_message = "fleet.swarming[*].groups[*].image must be the image's SHA-256: 64 lowercase hex characters."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : g.count >= 0 && floor(g.count) == g.count]]))
    error_message = "fleet.swarming[*].groups[*].count must be a whole number, 0 or more."
  }

  validation {
    condition = alltrue([
      for name in concat(
        [var.fleet.macservice.api_key_secret],
        flatten([for s in var.fleet.swarming : [for g in s.groups : [g.cert_secret, g.key_secret]]]),
      ) : can(regex("^[A-Za-z0-9_-]{1,255}$", name))
    ])
    error_message = "Secrets are named by their short Secret Manager name (letters, digits, \"_\" and \"-\"), e.g. \"darwin-amd64-14-cert\": no \"secret:\" prefix, project or version."
  }

  validation {
    # Keep in step with policySchema in shared/config/schema.ts (test/terraform.test.ts checks it).
    condition = alltrue([for k in keys(var.fleet.policy) : contains([
      "boot_grace", "dead_after", "renew_before", "max_surge", "max_unavailable", "max_creates_per_pass",
      "max_vacates_per_pass", "brake_minimum", "brake_fraction", "vacate_quarantined", "concurrency",
      "pass_deadline", "request_timeout", "max_attempts",
    ], k)])
    error_message = "fleet.policy has an unknown knob. Known: boot_grace, dead_after, renew_before, max_surge, max_unavailable, max_creates_per_pass, max_vacates_per_pass, brake_minimum, brake_fraction, vacate_quarantined, concurrency, pass_deadline, request_timeout, max_attempts."
  }

  validation {
    condition = alltrue([
      for k in ["boot_grace", "dead_after", "renew_before", "pass_deadline", "request_timeout"] :
      can(regex("^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$", try(var.fleet.policy[k], "1s")))
    ])
    error_message = "fleet.policy durations (boot_grace, dead_after, renew_before, pass_deadline, request_timeout) are strings with one unit, such as \"90s\", \"60m\" or \"22h\"."
  }
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
