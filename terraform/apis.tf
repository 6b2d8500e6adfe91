# The services makemac uses. disable_on_destroy = false: destroying makemac must not switch
# off an API that something else in the project may rely on.
locals {
  services = [
    "artifactregistry.googleapis.com", # the function's built image
    "cloudbuild.googleapis.com",       # builds the function from source
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com", # the two service accounts
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com", # a 2nd gen function is a Cloud Run service
    "secretmanager.googleapis.com",
    "storage.googleapis.com", # the source bucket
  ]
}

resource "google_project_service" "apis" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}
