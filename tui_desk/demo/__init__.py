"""The embedded demo: a realistic generated help-desk mailbox and an in-process mail server."""
