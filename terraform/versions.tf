terraform {
  # 1.9: a variable's validation refers to another variable (schedule_period_minutes).
  required_version = ">= 1.9"

  required_providers {
    # The only provider: the function's zip is built by `npm run package`, not by an
    # archive_file data source, so nothing else has to be downloaded.
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # Keep state in a bucket for anything but a trial run, e.g.:
  # backend "gcs" {
  #   bucket = "my-terraform-state"
  #   prefix = "makemac"
  # }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
