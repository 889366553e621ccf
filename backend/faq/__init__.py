"""The clinic's FAQ: questions patients ask in several phrasings, answered in the clinic's words."""
