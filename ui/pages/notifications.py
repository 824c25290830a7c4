"""Notifications: what the outbox sent, what waits, what failed with the server's answer;
resend and send now."""

import streamlit as st

from segcore.notify import notify_channels, notify_due, notify_outbox
from ui.app.actions import run_write
from ui.app.connection import settings
from ui.app.i18n import N_, _, choice_hint, format_datetime, format_number, ngettext, word
from ui.app.state import can_write, current_actor
from ui.app.widgets import metric_row, page_start

STATE_LABELS = {
    "pending": N_("Pending"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
}
KIND_LABELS = {
    "receipt": N_("Upload receipt"),
    "daily": N_("Daily alerts"),
    "weekly": N_("Weekly report"),
    "test": N_("Test"),
}


def _label(labels: dict, value: str | None) -> str:
    """A stored state or kind in the session's language; another tool's as stored; "-" none."""
    if not value:
        return "-"
    return _(labels[value]) if value in labels else value


def _to(message: dict) -> str:
    """The recipient; "-" for an email stored without its address."""
    if message["to"]:
        return message["to"]
    return "-" if message["channel"] == "email" else _("chat webhook")


databases = page_start(N_("Notifications"))
current = settings()
if not current.notify_channels:
    st.info(
        _(
            "No channel is configured: set SMTP_URL and NOTIFY_FROM for email, or "
            "WEBHOOK_URL for a chat (see the README). Messages are kept here once a "
            "channel is set."
        )
    )
counts = notify_outbox.count_by_state(databases.work)
metric_row((_(label), format_number(counts[state])) for state, label in STATE_LABELS.items())

shown = st.segmented_control(
    _("Show"),
    [None, *STATE_LABELS],
    key="notify_state",
    format_func=lambda s: _("All") if s is None else _(STATE_LABELS[s]),
)
# scrubbed again as shown: an answer stored by an earlier version may quote the token
messages = notify_outbox.list_messages(
    databases.work, shown, hide=notify_channels.answer_secrets(current)
)
if not messages:
    st.caption(_("No message yet."))
else:
    st.dataframe(
        [
            {
                _("State"): _label(STATE_LABELS, m["state"]),
                _("Kind"): _label(KIND_LABELS, m["kind"]),
                _("To"): _to(m),
                _("Subject"): m["subject"] or "-",
                _("Created"): format_datetime(m.get("created_at")),
                _("Sent"): format_datetime(m.get("sent_at")),
                _("Next attempt"): format_datetime(m.get("due_at"))
                if m["state"] == "pending"
                else "",
                _("Attempts"): m.get("attempts", 0),
                _("Server's answer"): word(m.get("answer")),
            }
            for m in messages
        ],
        hide_index=True,
    )

if can_write() and current.notify_channels:
    again = [m for m in messages if m["state"] in ("failed", "sent", "pending")]
    chosen = st.multiselect(
        _("Messages to send again"),
        [m["key"] for m in again],
        format_func=lambda k: next(
            (m["subject"] or "-") + " → " + _to(m) for m in again if m["key"] == k
        ),
        key="notify_resend",
        placeholder=choice_hint([m["key"] for m in again], many=True),
        select_all=False,  # Enter chooses the message typed, never every match
    )
    left, right = st.columns(2)
    if left.button(_("Resend the chosen"), disabled=not chosen, key="notify_resend_go"):
        run_write(
            _("Sending"),
            notify_due.resend_now,
            databases,
            chosen,
            current_actor(),
            then=lambda r: ngettext(
                "{count} message sent.", "{count} messages sent.", len(r.sent)
            ).format(count=len(r.sent)),
        )
    if right.button(_("Send what is due now"), key="notify_send_due"):
        run_write(
            _("Sending"),
            notify_due.resend_now,
            databases,
            [],
            current_actor(),
            then=lambda r: ngettext(
                "{count} message sent.", "{count} messages sent.", len(r.sent)
            ).format(count=len(r.sent)),
        )
