"""SQLModel tables, the SQLite engine, schema migrations and full-text search. No UI, no network."""
