terraform {
  required_version = ">= 1.5"

  required_providers {
    artie = {
      source = "artie-labs/artie"
      # In the sandbox, `artie-sandbox init` installs a local build of this provider.
      version = ">= 0.1.0"
    }
  }
}

provider "artie" {
  # Left null, these fall back to ARTIE_API_KEY / ARTIE_ENDPOINT, which `artie-sandbox up`
  # prints for the local sandbox. Against Artie itself, set TF_VAR_artie_api_key instead.
  api_key  = var.artie_api_key
  endpoint = var.artie_endpoint
}
