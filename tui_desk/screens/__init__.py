"""Textual screens and widgets. No SQL and no sockets here: they talk to tui_desk.tickets services."""
