"""The Batches page's bulk edit: status, priority and due date of the ticked or filtered batches.

A compare-and-set like every edit (`segcore.work.assignments.set_fields`): the ticked batches
against the values the table showed when Apply was clicked (`ui.batches.batch_grid.ticked_as_seen`: the
click's run may have read newer rows); the filtered ones are those the filter matched when the
page was drawn (the count the button named), less any batch written since (by the data
version's record of what each change touched: reported, not changed), and with a Status filter
only the batches still holding that status, which is how a legacy code such as `S` is replaced
by a current status. Every change is in the history.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from segcore.core.phrases import Phrase
from segcore.store import data_version
from segcore.store.connection import Databases
from segcore.work import assignments
from segcore.work.batches import DUE_DATES, PRIORITIES, STATUSES, BatchQuery
from ui.app import labels, reads
from ui.app.actions import run_write
from ui.app.connection import data_versions
from ui.app.i18n import N_, _, choice_hint, date_format, format_number, ngettext
from ui.app.state import current_actor
from ui.batches.batch_actions import report_change

KEEP, CLEAR = "(keep)", "(clear)"
FILTERED_DRAWN = "bulk_filtered_drawn"  # (query, batch version, ids) the page last showed
SCOPES = {"ticked": N_("The ticked batches"), "filtered": N_("Every batch the filters show")}
CHOICES = {KEEP: N_("(keep as it is)"), CLEAR: N_("(remove it)")}


def _choice(value: object, labelled) -> str:
    return _(CHOICES[value]) if value in CHOICES else labelled(value)


def wanted_changes(status: str, priority: str, due: str, day: date | None) -> dict:
    """The fields to set from the form's choices (KEEP leaves a field alone)."""
    changes: dict[str, object] = {}
    if status != KEEP:
        changes["status"] = status
    if priority != KEEP:
        changes["priority"] = None if priority == CLEAR else priority
    if due == "set" and day is not None:
        changes["due_date"] = day.isoformat()
    elif due == CLEAR:
        changes["due_date"] = None
    return changes


def bulk_edit(
    databases: Databases,
    ticked: list[dict],
    seen: dict[str, dict],
    query: BatchQuery,
    sort: str,
    descending: bool,
) -> None:
    """The form: which batches, which fields, one Apply naming how many batches change.

    `ticked`: the rows ticked in the table drawn now (the count named); `seen`: those ticked
    when the run began, by id, as they were shown (what a click applies to and compares with).
    """
    with st.container(border=True):
        st.markdown("**" + _("Change status, priority or due date") + "**")
        drawn = st.session_state.get(FILTERED_DRAWN)  # what the click was made on
        filtered = reads.batch_rows().select(query, sort, descending)
        st.session_state[FILTERED_DRAWN] = (query, data_versions()["batches"], filtered)
        counts = {"ticked": len(ticked), "filtered": len(filtered)}
        scope_col, due_col = st.columns(2)  # two rows of two: "(keep as it is)" whole at 800 px
        status_col, priority_col = st.columns(2)
        # The counts are captions, not part of the options' labels: the browser sends back the
        # label chosen, and one that no longer matches (a filter changed, the data moved)
        # would silently put the choice back to the ticked batches.
        scope = scope_col.radio(
            _("Which batches"),
            list(SCOPES),
            key="bulk_scope",
            format_func=lambda s: _(SCOPES[s]),
            captions=[
                ngettext("{count} batch", "{count} batches", counts[s]).format(
                    count=format_number(counts[s])
                )
                for s in SCOPES
            ],
            help=_(
                "To replace a legacy status such as S: filter Status "
                "by it, choose every batch the filters show and the "
                "new status; only batches still holding it change."
            ),
        )
        status, priority, due = _field_choices(status_col, priority_col, due_col)
        day = (
            due_col.date_input(
                _("New due date"),
                None,
                min_value=date.fromisoformat(DUE_DATES[0]),
                max_value=date.fromisoformat(DUE_DATES[1]),
                key="bulk_due_day",
                format=date_format(),  # as every date of the session's language
            )
            if due == "set"
            else None
        )
        changes = wanted_changes(status, priority, due, day)
        ids = [str(d.get("id")) for d in ticked] if scope == "ticked" else filtered
        label = ngettext("Apply to {count} batch", "Apply to {count} batches", len(ids)).format(
            count=format_number(len(ids))
        )
        if st.button(
            label, key="bulk_apply", disabled=not (ids and changes), icon=":material/done_all:"
        ):
            where = query.status if scope == "filtered" else None
            target, since = list(seen), {}
            if scope == "filtered":
                target, since = _as_drawn(databases, drawn, query, filtered)
            if target is not None:
                run_write(
                    _("Saving"),
                    assignments.set_fields,
                    databases.work,
                    target,
                    changes,
                    current_actor(),
                    seen=dict(seen) if scope == "ticked" else None,
                    where_status=where,
                    then=lambda result: report_change(
                        _worded(result, where, since), _("Bulk change")
                    ),
                )


def _worded(result, where: str | None, since: dict | None = None):
    """The batches left alone because their status changed, said in the session's language;
    any other refusal (a `Phrase`: a legacy metadata a priority would replace) keeps its own
    reason, which `report_change` words. `since`: those left out as written since the page
    was drawn, with why."""
    for batch_id, reason in result.failed.items():
        if where is not None and not isinstance(reason, Phrase):
            result.failed[batch_id] = _("its status is no longer {status}").format(
                status=labels.status(where)
            )
    result.failed.update(since or {})
    return result


def _as_drawn(databases: Databases, drawn, query: BatchQuery, filtered: list[str]):
    """The batches a click on "every batch the filters show" acts on: those the page showed
    (`drawn`: the query, the batch list's version and the ids it matched then), less those
    written since, each with why it was left out. (None, {}) with a warning when the changes
    since cannot be told apart (too many), so nothing unseen is changed."""
    if not drawn or drawn[0] != query:
        return filtered, {}
    _query, version, ids = drawn
    now = data_version.read_versions(databases.work)  # fresh: not the second-old copy
    changed = data_version.changed_batches(version, now["batches"], now["recent"])
    if changed is None:
        st.warning(
            _(
                "Too many batches changed since this page was drawn to tell which of these "
                "did: nothing was changed. Look at the filtered batches again and apply again."
            )
        )
        return None, {}
    why = _("changed by someone else since the page was drawn, so left as it is")
    return [i for i in ids if i not in changed], {i: why for i in ids if i in changed}


def _field_choices(status_col, priority_col, due_col) -> tuple:
    """The new status, priority and due-date choice, each box starting at KEEP."""
    hint = choice_hint([KEEP])  # each box below starts at KEEP
    status = status_col.selectbox(
        _("Status"),
        [KEEP, *STATUSES],
        key="bulk_status",
        format_func=lambda v: _choice(v, labels.status),
        placeholder=hint,
    )
    priority = priority_col.selectbox(
        _("Priority"),
        [KEEP, *PRIORITIES, CLEAR],
        key="bulk_priority",
        format_func=lambda v: _choice(v, labels.priority),
        placeholder=hint,
    )
    due = due_col.selectbox(
        _("Due date"),
        [KEEP, "set", CLEAR],
        key="bulk_due",
        format_func=lambda v: _("set to…") if v == "set" else _(CHOICES[v]),
        placeholder=hint,
    )
    return status, priority, due
