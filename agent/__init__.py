"""The agent loop: a conversation turn becomes tool calls and replies, through the closed tool set.
Depends only on `policy`; receives services through Protocols.
"""
