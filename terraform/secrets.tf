# One Secret Manager secret per distinct name in var.fleet. Terraform creates the containers
# only: values are added out of band (`gcloud secrets versions add`, README "Secrets"), so no
# secret value ever enters Terraform state or plan output.
locals {
  secret_names = toset(concat(
    [var.fleet.macservice.api_key_secret],
    flatten([for s in var.fleet.swarming : [for g in s.groups : [g.cert_secret, g.key_secret]]]),
  ))

  # The config names secrets as secret:PROJECT/NAME; the function reads the latest version.
  secret_refs = { for name in local.secret_names : name => "secret:${var.project_id}/${name}" }
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
