"""Dramatiq actors. Actors take ids, never objects, and are idempotent.

Each actor takes its name and queue from newsletter/background/enqueue.py, through which
everything else enqueues; the broker lives in newsletter/background/broker.py.
"""
