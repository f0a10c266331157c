"""Mail: building messages, the SMTP transport and the built-in sink."""

from email import policy

# Python's default policies fold long headers (List-Unsubscribe) into RFC 2047 words that mail
# clients cannot use; RFC 5322 allows 998 characters a line, and SMTP needs CRLF.
SMTP_POLICY = policy.SMTP.clone(max_line_length=998)
