"""Conversations: every channel's thread with a patient, its numbered messages, the turn runner that
lets the agent answer, the agent's desk (the `agent.ports.Desk` implementation) and hand-off links.
Owns `conversations` and `conversation_messages`."""
