"""Dashboard statistics: materialized views and live rollups."""
