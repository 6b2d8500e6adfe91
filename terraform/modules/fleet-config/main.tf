# The product config (shared/config/schema.ts) rendered from the checked fleet. Its objects are
# strict, so the keys below are exactly the schema's camelCase keys; optional values left null
# are omitted (`if v != null`) so the product applies its own defaults.
locals {
  secret_names = toset(concat(
    [var.fleet.macservice.api_key_secret],
    flatten([for s in var.fleet.swarming : [for g in s.groups : [g.cert_secret, g.key_secret]]]),
  ))

  # The function reads the latest version of each.
  secret_refs = { for name in local.secret_names : name => "secret:${var.project_id}/${name}" }

  config = {
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
    # A retired host's object form without its nulls, so the product applies its defaults.
    retiredHosts = [for r in var.fleet.retired_hosts : try({ for k, v in r : k => v if v != null }, r)]
    # snake_case knob → camelCase key: max_creates_per_pass → maxCreatesPerPass.
    policy = { for k, v in var.fleet.policy : join("", [for i, w in split("_", k) : i == 0 ? w : title(w)]) => v if v != null }
    dryRun = var.dry_run
  }

  # Validated above, so each parses.
  policy_seconds = { for k in ["pass_deadline", "request_timeout"] : k => one([
    for m in [regex(local.duration_pattern, coalesce(try(var.fleet.policy[k], null), local.duration_defaults[k]))] :
    tonumber(m[0]) * local.duration_unit_ms[m[1]] / 1000
  ]) }
}
