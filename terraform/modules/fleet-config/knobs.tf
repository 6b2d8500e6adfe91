# The policy knobs of policySchema (shared/config/schema.ts) in snake_case, with the bounds the
# product enforces. test/fleet-config.test.ts probes every knob of the schema at and past its
# bounds through zod and through this module, so a knob added to the schema fails that test
# until it is mirrored here.
locals {
  duration_knobs = {
    boot_grace      = { min = "5m", max = "24h" }
    dead_after      = { min = "0s", max = "24h" }
    silent_after    = { min = "1m", max = "24h" }
    renew_before    = { min = "1h", max = "24h" }
    pass_deadline   = { min = "10s", max = "1h" }
    request_timeout = { min = "100ms", max = "5m" }
  }

  # The product's defaults of the two knobs the rule between them and the function timeout read.
  duration_defaults = { pass_deadline = "4m", request_timeout = "30s" }

  # Whole numbers, or percentages of a count such as "25%".
  size_knobs = ["max_surge", "max_unavailable", "max_vacates_per_pass"]

  # max = null: no upper bound.
  number_knobs = {
    max_creates_per_pass = { whole = true, min = 0, max = null }
    vacate_ceiling       = { whole = true, min = 1, max = 10000 }
    brake_minimum        = { whole = true, min = 0, max = null }
    brake_fraction       = { whole = false, min = 0, max = 1 }
    concurrency          = { whole = true, min = 1, max = 64 }
    max_attempts         = { whole = true, min = 1, max = 10 }
  }

  boolean_knobs = ["vacate_quarantined"]

  knob_names = sort(concat(keys(local.duration_knobs), local.size_knobs, keys(local.number_knobs), local.boolean_knobs))

  # shared/duration.ts: one number and one unit, rounded to whole milliseconds.
  duration_pattern = "^([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h|d)$"
  duration_unit_ms = { ms = 1, s = 1000, m = 60000, h = 3600000, d = 86400000 }
  duration_bounds_ms = { for k, b in local.duration_knobs : k => {
    min = tonumber(regex(local.duration_pattern, b.min)[0]) * local.duration_unit_ms[regex(local.duration_pattern, b.min)[1]]
    max = tonumber(regex(local.duration_pattern, b.max)[0]) * local.duration_unit_ms[regex(local.duration_pattern, b.max)[1]]
  } }
}
