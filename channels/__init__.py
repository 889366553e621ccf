"""Channel adapters (web chat, Twilio SMS, Twilio Voice): verify and normalise inbound traffic,
deliver outbound messages. Depends only on `policy`; receives everything else through Protocols.
"""
