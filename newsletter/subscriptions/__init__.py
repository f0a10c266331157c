"""The subscriber's journey, one module per step.

- signup.py: asking to subscribe from the public form
- confirmation.py: the confirmation mail's rules and confirming by its link
- preferences.py: changing lists and name from a preferences link
- unsubscribe.py: leaving by the unsubscribe link, one-click included, and leaving all
- people.py: finding a person and the lists they are on
- links.py: the signed links in mails; mail.py: the system mail sent to subscribers;
  retention.py: purging stale sign-ups and blanking old request details; audience.py: the
  secretariat's view of its audience (the consent evidence every step writes is
  newsletter/consent.py)

Commits: the functions a view, the CLI or a worker calls (request_subscription,
confirm_subscription, confirm_link, update_preferences, unsubscribe, and the retention jobs)
commit their change; the helpers they share take a subscription or a subscriber, change it in
the session and leave the commit to their caller.
"""
