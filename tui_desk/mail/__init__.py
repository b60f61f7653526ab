"""The wire: IMAP sync, SMTP send, MIME parse and compose. No UI, no SQL."""
