terraform {
  # 1.9: validations refer to locals (knobs.tf). No providers: `terraform apply` on this module
  # alone runs offline, which is how the tests and `makemac check` users render the config.
  required_version = ">= 1.9"
}
