"""Partitions, maintenance, query monitoring and caching of the data layer."""
