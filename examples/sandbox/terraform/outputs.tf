output "source_reader_uuid" {
  description = "The shop's source reader."
  value       = artie_source_reader.shop.uuid
}

output "analytics_v1_pipeline_uuid" {
  description = "The pipeline writing to analytics_v1."
  value       = artie_pipeline.analytics_v1.uuid
}
