"""Admin pages: lists."""
