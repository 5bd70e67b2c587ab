# The store URL from variables alone, in its own file so tests can evaluate it without the
# google provider. Format: cloudlease_firestore's from_url.
locals {
  store_url_query = var.database == "(default)" ? "" : "?database=${var.database}"
  store_url       = "firestore://${var.project}/${var.collection}${local.store_url_query}"
}
