"""What leaves the system: the outbox, webhook dispatch and mail (SMTP and the mailbox)."""
