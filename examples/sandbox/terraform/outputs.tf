output "source_reader_uuid" {
  description = "The shop's source reader (pipelines attach to it by this UUID)."
  value       = artie_source_reader.shop.uuid
}
