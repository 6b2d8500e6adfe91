# The fleet variable, checked against everything the product checks and rendered as the
# product config. The module has no providers, so it also runs alone, offline (tests, README
# "Check the config before applying").
module "fleet_config" {
  source = "./modules/fleet-config"

  project_id = var.project_id
  fleet      = var.fleet
  dry_run    = var.dry_run
}
