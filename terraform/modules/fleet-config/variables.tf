# The fleet as the operator writes it, checked here against everything the product's config
# schema (shared/config/schema.ts) checks, so a fleet the function would refuse never gets past
# `terraform plan`. A validation may not read a local derived from the variable it validates
# (that is a cycle), so each check is written out in its condition.

variable "project_id" {
  description = "Project that holds the fleet's secrets: references are secret:PROJECT/NAME."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 lowercase letters, digits and hyphens), not a project number or name."
  }
}

variable "dry_run" {
  description = "The config's dryRun: every pass plans and logs, and mutates nothing."
  type        = bool
}

variable "fleet" {
  description = <<-EOT
    The fleet, as the product config states it (README "Configuration"). Secrets are named by
    their Secret Manager short name in project_id; the config gets `secret:PROJECT/NAME`. Policy
    knobs are the config's policy keys in snake_case (boot_grace, max_surge, ...); unset knobs
    take the product's defaults.
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
    # Hosts whose leases are drained (reason retired): each a host name, or an object with host
    # and optionally url and pool (with a pool, its busy bots are known and wait for their task).
    # `any`: a list may mix the two forms, which no single Terraform type holds.
    retired_hosts = optional(any, [])
    # `any`, not an object type: Terraform silently drops unknown attributes of an object, so a
    # misspelt knob would vanish; here every key is checked below, and numbers stay numbers.
    policy = optional(any, {})
  })

  # --- macservice ---------------------------------------------------------------------------

  validation {
    condition = var.fleet.macservice.url == null || anytrue([
      can(regex("(?i)^https://[^/?#\\s@]+([/?#]\\S*)?$", var.fleet.macservice.url)),
      can(regex("(?i)^http://(localhost|127\\.[0-9]+\\.[0-9]+\\.[0-9]+|\\[::1\\])(:[0-9]+)?([/?#]\\S*)?$", var.fleet.macservice.url)),
    ])
    error_message = "fleet.macservice.url must be an https:// URL (http:// only for a loopback address)."
  }

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.fleet.macservice.customer))
    error_message = "fleet.macservice.customer must be lowercase letters, digits and \"-\"."
  }

  validation {
    condition     = var.fleet.macservice.profile == null || try(length(var.fleet.macservice.profile) > 0, false)
    error_message = "fleet.macservice.profile must not be empty (leave it out for the default)."
  }

  validation {
    condition     = var.fleet.macservice.access_level == null || try(length(var.fleet.macservice.access_level) > 0, false)
    error_message = "fleet.macservice.access_level must not be empty (leave it out for the default)."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.fleet.macservice.api_key_secret))
    error_message = "fleet.macservice.api_key_secret must be a Secret Manager short name (letters, digits, \"_\" and \"-\"), e.g. \"macservice-api-key\": no \"secret:\" prefix, project or version."
  }

  # --- swarming -----------------------------------------------------------------------------

  validation {
    # An empty list would orphan, and so drain, the whole fleet.
    condition     = length(var.fleet.swarming) > 0
    error_message = "fleet.swarming must list at least one swarming host."
  }

  validation {
    condition = alltrue([for s in var.fleet.swarming : can(regex("^[a-z0-9.-]+(:[0-9]+)?$", s.host))])
    # The host is also the lease tag makemac/<host>: a URL here would orphan every lease.
    error_message = "fleet.swarming[*].host must be a host name such as chromium-swarm.appspot.com (no scheme or path)."
  }

  validation {
    condition     = length(distinct([for s in var.fleet.swarming : s.host])) == length(var.fleet.swarming)
    error_message = "fleet.swarming[*].host: each swarming host may appear only once."
  }

  validation {
    condition = alltrue([for s in var.fleet.swarming : s.url == null || anytrue([
      can(regex("(?i)^https://[^/?#\\s@]+([/?#]\\S*)?$", s.url)),
      can(regex("(?i)^http://(localhost|127\\.[0-9]+\\.[0-9]+\\.[0-9]+|\\[::1\\])(:[0-9]+)?([/?#]\\S*)?$", s.url)),
    ])])
    error_message = "fleet.swarming[*].url must be an https:// URL (http:// only for a loopback address), or left out for https://<host>."
  }

  validation {
    condition     = alltrue([for s in var.fleet.swarming : length(s.pool) > 0])
    error_message = "fleet.swarming[*].pool must not be empty."
  }

  validation {
    # An empty list would orphan, and so drain, every lease of the host.
    condition     = alltrue([for s in var.fleet.swarming : length(s.groups) > 0])
    error_message = "fleet.swarming[*].groups must list at least one group (set a count to 0 to drain it)."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[a-z0-9][a-z0-9.-]*$", g.hostname)) && !strcontains(g.hostname, "--")]]))
    error_message = "fleet.swarming[*].groups[*].hostname must be lowercase letters, digits, \"-\" and \".\", without \"--\" (it separates the prefix from the lease id in bot ids)."
  }

  validation {
    condition     = alltrue([for s in var.fleet.swarming : length(distinct([for g in s.groups : g.hostname])) == length(s.groups)])
    error_message = "fleet.swarming[*].groups[*].hostname must be unique under each swarming host."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[0-9a-f]{64}$", g.image))]]))
    error_message = "fleet.swarming[*].groups[*].image must be the image's SHA-256: 64 lowercase hex characters."
  }

  validation {
    condition     = alltrue([for s in var.fleet.swarming : length(distinct([for g in s.groups : g.image])) == length(s.groups)])
    error_message = "fleet.swarming[*].groups[*].image must be unique under each swarming host (a lease's image names its group)."
  }

  validation {
    # MAX_GROUP_COUNT: MacService fleets are tens of VMs; more is a typo, not a fleet.
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : g.count >= 0 && g.count <= 1000 && floor(g.count) == g.count]]))
    error_message = "fleet.swarming[*].groups[*].count must be a whole number from 0 to 1000."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[A-Za-z0-9_-]{1,255}$", g.cert_secret))]]))
    error_message = "fleet.swarming[*].groups[*].cert_secret must be a Secret Manager short name (letters, digits, \"_\" and \"-\"), e.g. \"darwin-amd64-14-cert\": no \"secret:\" prefix, project or version."
  }

  validation {
    condition     = alltrue(flatten([for s in var.fleet.swarming : [for g in s.groups : can(regex("^[A-Za-z0-9_-]{1,255}$", g.key_secret))]]))
    error_message = "fleet.swarming[*].groups[*].key_secret must be a Secret Manager short name (letters, digits, \"_\" and \"-\"), e.g. \"darwin-amd64-14-key\": no \"secret:\" prefix, project or version."
  }

  # --- retired_hosts ------------------------------------------------------------------------
  # An element's host is try(r.host, r): the object form's host, or the string itself.

  validation {
    condition     = can(concat(var.fleet.retired_hosts, []))
    error_message = "fleet.retired_hosts must be a list of host names, such as [\"old-swarm.appspot.com\"]."
  }

  validation {
    condition = try(alltrue([for r in var.fleet.retired_hosts : try(tostring(r) == r, false) || try(
      contains(keys(r), "host") && alltrue([for k in keys(r) : contains(["host", "url", "pool"], k)]),
    false)]), true)
    error_message = "fleet.retired_hosts[*] must be a host name, or an object with host and optionally url and pool."
  }

  validation {
    condition     = try(alltrue([for r in var.fleet.retired_hosts : !try(tostring(r) == r, false) || can(regex("^[a-z0-9.-]+(:[0-9]+)?$", r))]), true)
    error_message = "fleet.retired_hosts[*] must be a host name such as old-swarm.appspot.com (no scheme or path)."
  }

  validation {
    condition     = try(alltrue([for r in var.fleet.retired_hosts : try(r.host, null) == null || can(regex("^[a-z0-9.-]+(:[0-9]+)?$", r.host))]), true)
    error_message = "fleet.retired_hosts[*].host must be a host name such as old-swarm.appspot.com (no scheme or path)."
  }

  validation {
    condition = try(alltrue([for r in var.fleet.retired_hosts : try(r.url, null) == null || anytrue([
      can(regex("(?i)^https://[^/?#\\s@]+([/?#]\\S*)?$", r.url)),
      can(regex("(?i)^http://(localhost|127\\.[0-9]+\\.[0-9]+\\.[0-9]+|\\[::1\\])(:[0-9]+)?([/?#]\\S*)?$", r.url)),
    ])]), true)
    error_message = "fleet.retired_hosts[*].url must be an https:// URL (http:// only for a loopback address), or left out for https://<host>."
  }

  validation {
    condition     = try(alltrue([for r in var.fleet.retired_hosts : try(r.pool, null) == null || try(length(r.pool) > 0, false)]), true)
    error_message = "fleet.retired_hosts[*].pool must not be empty (leave it out to judge leases by bots found on configured hosts)."
  }

  validation {
    condition     = try(alltrue([for r in var.fleet.retired_hosts : !contains([for s in var.fleet.swarming : s.host], try(r.host, r))]), true)
    error_message = "fleet.retired_hosts[*] names a host that fleet.swarming configures: a host is either served or retired."
  }

  validation {
    condition     = try(length(distinct([for r in var.fleet.retired_hosts : try(r.host, r)])) == length(var.fleet.retired_hosts), true)
    error_message = "fleet.retired_hosts[*]: each host may be retired only once."
  }

  # --- policy (knobs.tf) ---------------------------------------------------------------------

  validation {
    condition = can(keys(var.fleet.policy)) && try(alltrue([for k in keys(var.fleet.policy) : contains(local.knob_names, k)]), false)
    error_message = try(
      "fleet.policy has an unknown knob: ${join(", ", [for k in keys(var.fleet.policy) : k if !contains(local.knob_names, k)])}. Known: ${join(", ", local.knob_names)}.",
      "fleet.policy must be an object of knobs, such as { boot_grace = \"60m\" }.",
    )
  }

  # Each check below is written twice, in the condition and in the message that names the
  # failing knobs; test/fleet-config.test.ts fails if the two disagree. Terraform's && and ||
  # evaluate both sides, hence the try() around anything that fails on a malformed value.
  validation {
    condition = alltrue([for k, b in local.duration_bounds_ms : try(var.fleet.policy[k], null) == null || try(alltrue([
      for m in [regex(local.duration_pattern, var.fleet.policy[k])] : alltrue([
        for ms in [floor(tonumber(m[0]) * local.duration_unit_ms[m[1]] + 0.5)] : ms >= b.min && ms <= b.max
    ])]), false)])
    error_message = join("; ", [for k, b in local.duration_bounds_ms : "fleet.policy.${k} must be a duration with one unit, such as \"90s\", \"60m\" or \"22h\", from ${local.duration_knobs[k].min} to ${local.duration_knobs[k].max}" if !(try(var.fleet.policy[k], null) == null || try(alltrue([
      for m in [regex(local.duration_pattern, var.fleet.policy[k])] : alltrue([
        for ms in [floor(tonumber(m[0]) * local.duration_unit_ms[m[1]] + 0.5)] : ms >= b.min && ms <= b.max
    ])]), false))])
  }

  validation {
    condition = alltrue([for k in local.size_knobs : try(var.fleet.policy[k], null) == null || anytrue([
      try(tonumber(var.fleet.policy[k]) == var.fleet.policy[k] && var.fleet.policy[k] >= 0 && floor(var.fleet.policy[k]) == var.fleet.policy[k], false),
      try(tostring(var.fleet.policy[k]) == var.fleet.policy[k] && can(regex("^[0-9]+(\\.[0-9]+)?%$", var.fleet.policy[k])), false),
    ])])
    error_message = join("; ", [for k in local.size_knobs : "fleet.policy.${k} must be a whole number, 0 or more, or a percentage such as \"25%\"" if !(try(var.fleet.policy[k], null) == null || anytrue([
      try(tonumber(var.fleet.policy[k]) == var.fleet.policy[k] && var.fleet.policy[k] >= 0 && floor(var.fleet.policy[k]) == var.fleet.policy[k], false),
      try(tostring(var.fleet.policy[k]) == var.fleet.policy[k] && can(regex("^[0-9]+(\\.[0-9]+)?%$", var.fleet.policy[k])), false),
    ]))])
  }

  validation {
    condition = alltrue([for k, b in local.number_knobs : try(var.fleet.policy[k], null) == null || try(
      tonumber(var.fleet.policy[k]) == var.fleet.policy[k] && (!b.whole || floor(var.fleet.policy[k]) == var.fleet.policy[k]) &&
      var.fleet.policy[k] >= b.min && var.fleet.policy[k] <= coalesce(b.max, var.fleet.policy[k]),
    false)])
    error_message = join("; ", [for k, b in local.number_knobs : "fleet.policy.${k} must be ${b.whole ? "a whole number" : "a number"} ${b.max == null ? "of at least ${b.min}" : "from ${b.min} to ${b.max}"}" if !(try(var.fleet.policy[k], null) == null || try(
      tonumber(var.fleet.policy[k]) == var.fleet.policy[k] && (!b.whole || floor(var.fleet.policy[k]) == var.fleet.policy[k]) &&
      var.fleet.policy[k] >= b.min && var.fleet.policy[k] <= coalesce(b.max, var.fleet.policy[k]),
    false))])
  }

  validation {
    condition     = alltrue([for k in local.boolean_knobs : try(var.fleet.policy[k], null) == null || try(tobool(var.fleet.policy[k]) == var.fleet.policy[k], false)])
    error_message = join("; ", [for k in local.boolean_knobs : "fleet.policy.${k} must be true or false" if !(try(var.fleet.policy[k], null) == null || try(tobool(var.fleet.policy[k]) == var.fleet.policy[k], false))])
  }

  validation {
    # A malformed value of either is reported above; here both are valid or defaulted.
    condition = try(alltrue([for ms in [[
      for k in ["pass_deadline", "request_timeout"] : one([
        for m in [regex(local.duration_pattern, coalesce(try(var.fleet.policy[k], null), local.duration_defaults[k]))] :
        floor(tonumber(m[0]) * local.duration_unit_ms[m[1]] + 0.5)
      ])
    ]] : ms[0] > ms[1]]), true)
    error_message = "fleet.policy.pass_deadline must be longer than request_timeout (default ${local.duration_defaults.request_timeout}), or no request could finish within the pass."
  }
}
