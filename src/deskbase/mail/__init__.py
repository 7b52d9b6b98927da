"""The e-mail channel: mailboxes, inbound mail, outbound mail (docs/mail.md)."""
