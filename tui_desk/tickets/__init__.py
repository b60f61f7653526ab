"""The domain: ingestion, threading, workflow state, the filter language, templates, team sync. No UI."""
