"""The `tui-desk` subcommands, one module each; `tui_desk.cli` only parses and dispatches."""
