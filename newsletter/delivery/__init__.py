"""The delivery engine: an issue's ledger, the batches that send it, and the sweep.

Read the modules in this order, the order a send runs through them:

1. `types`      the vocabulary: the ledger's table, row states, Recipient, Outcome, BatchResult.
2. `control`    an issue's send from the outside: start (`send_issue`), pause, resume, cancel,
                progress, and `run_batch`, which runs one batch and makes the pause it asks for.
3. `ledger`     one row per recipient, written when the issue starts; cut into batches by id
                range and enqueued; the issue marked sent once no row is open.
4. `sender`     one batch: claim rows, build and send each person's message, record outcomes.
5. `store`      where a batch reads and writes: `BatchStore`, one implementation per database
                (`store_sqlite`, `store_postgres`; what they share in `store_base`).
6. `heartbeat`  keeps a live batch's claimed rows its own while it works.
7. `message`    the issue's message built once, each recipient's bytes cut from it
                (`reconfirmation` builds its request the same way); `pacing` spaces messages.
8. `sweep`      the periodic pass that frees a dead worker's rows and re-enqueues stalled issues.

Around them: `scheduling` (start at a time), `in_process` (send in this process, `--wait`),
`trial_send` (test sends to typed addresses), `reconfirmation` (asking an import's pending
people to confirm, as an issue), `failures` and `counts` (what the admin sees afterwards).
"""
