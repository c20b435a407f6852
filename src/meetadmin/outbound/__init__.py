"""What leaves the system: webhook events (``events``: written with the change), their delivery
(``dispatch``: signing, retries, deactivation) and the envelope's signature (``signing``); notices as
e-mails (``mail``, ``mail_sender``: SMTP and the mailbox)."""
