"""Automation: event rules, time rules and macros (docs/automation.md)."""
