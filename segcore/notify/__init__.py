"""Telling people: the outbox that sends each message exactly once (`notify_outbox`), email and
chat channels (`notify_channels`), the messages in each reader's language (`notify_messages`),
"Write to" links (`notify_mailto`) and what is due when (`notify_due`). Imports the packages
below it, never the user interface.
"""
