output "config_json" {
  description = "The product config, as MAKEMAC_CONFIG takes it."
  value       = jsonencode(local.config)
}

output "secret_names" {
  description = "Every Secret Manager short name the fleet refers to."
  value       = local.secret_names
}

output "pass_deadline_seconds" {
  description = "policy.pass_deadline, defaulted, in seconds."
  value       = local.policy_seconds.pass_deadline
}

output "request_timeout_seconds" {
  description = "policy.request_timeout, defaulted, in seconds: a request in flight at the deadline may run this much longer."
  value       = local.policy_seconds.request_timeout
}
