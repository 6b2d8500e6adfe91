output "function_uri" {
  description = "HTTPS endpoint of the function (authentication required; the scheduler job calls it)."
  value       = google_cloudfunctions2_function.reconcile.service_config[0].uri
}

output "makemac_config" {
  description = "The config the function runs with (MAKEMAC_CONFIG): check it with `npx makemac check --config FILE` (README \"Check the config before applying\")."
  value       = module.fleet_config.config_json
}

output "runtime_service_account" {
  description = "The function's identity. Allow it swarming.pools.listBots in every configured Swarming pool (LUCI realms config)."
  value       = google_service_account.runtime.email
}

output "scheduler_service_account" {
  description = "Cloud Scheduler's identity; holds roles/run.invoker on the function's service only."
  value       = google_service_account.scheduler.email
}

output "scheduler_job" {
  description = "The Cloud Scheduler job that runs a pass on the schedule."
  value       = google_cloud_scheduler_job.reconcile.id
}

output "secret_ids" {
  description = "Secrets that need a value before the first pass: add one version to each, out of band."
  value       = sort([for s in google_secret_manager_secret.fleet : s.id])
}

output "add_secret_value_commands" {
  description = "One command per secret to add its value from a file (or stdin with --data-file=-); values never pass through Terraform."
  value = [for name in sort(tolist(local.secret_names)) :
    "gcloud secrets versions add ${name} --project=${var.project_id} --data-file=PATH_TO_${upper(replace(name, "-", "_"))}"
  ]
}

output "run_pass_now_command" {
  description = "Runs one pass now, outside the schedule."
  value       = "gcloud scheduler jobs run ${google_cloud_scheduler_job.reconcile.name} --project=${var.project_id} --location=${var.region}"
}
