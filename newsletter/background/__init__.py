"""Background work: the Dramatiq broker, enqueueing, the periodic runner and its jobs, and the
processes that `serve` and `newsletter worker` run."""
