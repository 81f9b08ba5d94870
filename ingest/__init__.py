"""Importers of registries and taxonomies (profiles, organisations, posts, opportunities, ESCO)."""
