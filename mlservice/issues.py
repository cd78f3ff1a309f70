"""The issue codes an out-of-range warning can name: one list for the checks and the response schemas."""
from __future__ import annotations

BELOW, ABOVE, UNSEEN, MISSING = "below_training_range", "above_training_range", "unseen_category", "unseen_missing"
#: A recommendation query's liked items: not in the catalog (skipped), or rated by too few users.
UNKNOWN_ITEM, RARE_ITEM = "unknown_item", "rarely_rated_item"
#: Every issue a warning can name (the response schemas' enum).
ISSUE_CODES = (BELOW, ABOVE, UNSEEN, MISSING, UNKNOWN_ITEM, RARE_ITEM)
