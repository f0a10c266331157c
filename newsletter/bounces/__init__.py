"""Mail that comes back: reading bounces and complaints, and what they do to a subscriber."""
