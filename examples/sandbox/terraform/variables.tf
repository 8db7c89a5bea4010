variable "artie_api_key" {
  description = "Artie API key (arsk_...). Null: taken from the ARTIE_API_KEY environment variable."
  type        = string
  sensitive   = true
  default     = null
}

variable "artie_endpoint" {
  description = "Artie API endpoint. Null: ARTIE_ENDPOINT, else the local sandbox started by `artie-sandbox up`."
  type        = string
  default     = null
}

variable "source_database_path" {
  description = "Path of the shop's SQLite database (the sandbox's stand-in for the production MySQL)."
  type        = string
}

variable "source_database_name" {
  description = "Database the source reader reads from; SQLite calls its only database \"main\"."
  type        = string
  default     = "main"
}

variable "warehouse_directory" {
  description = "Folder for the DuckDB warehouses; each destination connector gets a subfolder."
  type        = string
}
