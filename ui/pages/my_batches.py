"""My batches: a segmentador's own open batches, what their uploads still lack, their pace and
the coordinator's reviews. The only page that role sees; every read is scoped to them."""

import pandas as pd
import streamlit as st

from segcore.core.timefmt import to_office, utcnow
from ui.app import labels
from ui.app.connection import settings
from ui.app.i18n import N_, _, format_datetime, word
from ui.app.labels import literal
from ui.app.state import current_actor
from ui.app.widgets import page_start, titled_chart
from ui.dashboard import charts
from ui.team import my_work_view

databases = page_start(N_("My batches"))
actor = current_actor()
if not actor.is_segmentador:
    st.info(_("This page shows a segmentador their own batches when they log in."))
    st.stop()
now = utcnow().replace(second=0)
today = to_office(now, settings().zone).date()
mine = my_work_view.batches(actor, today)
open_batches = [b for b in mine if b.open]
st.caption(
    _("Logged in as {name}: your batches, due dates and what your uploads still lack.").format(
        name=literal(actor.member)
    )
)

st.subheader(_("Open batches"), anchor=False)
if open_batches:
    st.dataframe(pd.DataFrame([my_work_view.batch_row(b) for b in open_batches]), hide_index=True)
    my_work_view.mark_in_progress(databases, actor, open_batches)
    found = my_work_view.receipts(actor, tuple(b.id for b in open_batches))
    for batch in open_batches:
        my_work_view.show_receipt(batch, found.get(batch.id))
else:
    st.info(_("You have no open batches."))

st.subheader(_("Your pace"), anchor=False)
figures = my_work_view.pace(actor, now)
st.write(my_work_view.pace_caption(figures))
titled_chart(
    st, _("Your deliveries per week"), charts.my_deliveries(figures.weeks), "chart_my_deliveries"
)

st.subheader(_("Reviewed"), anchor=False)
reviewed = my_work_view.reviews(actor)
if reviewed:
    st.dataframe(
        [
            {
                _("Batch"): r["id"],
                _("Status"): labels.status(r["status"]),
                _("When"): format_datetime(r["at"]) if r["at"] else "",
                _("By"): labels.author(r["by"]),
                _("Note"): word(r["note"]),  # a sync's reason in their language
            }
            for r in reviewed
        ],
        hide_index=True,
    )
else:
    st.info(_("None of your deliveries has been reviewed yet."))
