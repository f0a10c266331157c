"""Admin pages: outbox."""
