# One Secret Manager secret per distinct name in var.fleet (the config refers to each as
# secret:PROJECT/NAME, modules/fleet-config). Terraform creates the containers
# only: values are added out of band (`gcloud secrets versions add`, README "Secrets"), so no
# secret value ever enters Terraform state or plan output.
locals {
  secret_names = module.fleet_config.secret_names
}

resource "google_secret_manager_secret" "fleet" {
  for_each = local.secret_names

  project   = var.project_id
  secret_id = each.key
  labels    = { "managed-by" = "terraform", "app" = var.function_name }

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Access per secret, never project-wide: the runtime account can read exactly the secrets the
# config names, and nothing else in the project.
resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each = google_secret_manager_secret.fleet

  project   = each.value.project
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
