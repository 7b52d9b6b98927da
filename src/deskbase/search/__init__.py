"""Full-text and fuzzy search, suggestions and search analytics."""
