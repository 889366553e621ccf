"""Conversation scripts (docs/conversation-scripts.md): the format, and running it over the chat API."""
