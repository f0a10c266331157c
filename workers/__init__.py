"""Dramatiq actors and the broker set-up. Actors take ids, never objects, and are idempotent."""
