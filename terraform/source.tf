# The function's source: the zip from `npm run package`, uploaded under a name that carries its
# content hash. A code change gives a new object name, which changes the function's source and
# redeploys it; an unchanged build (the zip is byte-for-byte reproducible) changes nothing.
locals {
  source_zip_md5 = filemd5(var.source_zip)
}

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = "${var.project_id}-${var.function_name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Holds only build inputs, all reproducible from the repository.
  force_destroy = true

  versioning {
    enabled = false
  }

  # Old archives are never read again: Cloud Functions copies the source when it builds. If the
  # current one ages out too, the next `terraform apply` uploads it again under the same name.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  name   = "makemac-${local.source_zip_md5}.zip"
  source = var.source_zip
}
