"""Weekly report: the figures the weekly email carries, in the interface's language, printable
from the browser and downloadable as HTML."""

import streamlit as st

from segcore.core.translations import Words
from segcore.report import pace
from segcore.report.pace_report import build_report, delivery_quality, to_html
from ui.app import reads
from ui.app.connection import settings
from ui.app.i18n import N_, _, current_language
from ui.app.labels import literal
from ui.app.widgets import page_start, titled_chart
from ui.dashboard import charts

# Printing: no sidebar, header or buttons; the charts keep their place on the page.
PRINT_CSS = """<style>@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDownloadButton"], [data-testid="stDecoration"] { display: none !important; }
  [data-testid="stAppViewContainer"] > section, .main, .block-container
    { margin: 0 !important; padding: 0 !important; max-width: 100% !important; }
  .stPlotlyChart, [data-testid="stDataFrame"] { break-inside: avoid; }
}</style>"""

databases = page_start(N_("Weekly report"))
st.html(PRINT_CSS)
rows = reads.progress_rows()
found = reads.current_alerts()
words = Words(current_language(), settings().zone)
report = build_report(rows, found, delivery_quality(rows), words, settings().zone)
st.subheader(report.title, anchor=False)
st.markdown("\n".join(f"- {literal(line)}" for line in report.figures))
st.download_button(
    _("Download as HTML"),
    to_html(report, words),
    file_name=f"weekly-report-{found.today.isoformat()}.html",
    mime="text/html",
    icon=":material/download:",
)
st.caption(_("To print it or save it as PDF, use the browser's Print: the sidebar is left out."))
st.subheader(_("Per person"), anchor=False)
st.dataframe([dict(zip(report.people_header, row)) for row in report.people], hide_index=True)
weeks = pace.weekly_deliveries(rows, reads.team_names(), found.today, settings().zone)
titled_chart(st, _("Deliveries per week"), charts.weekly_pace(weeks), "weekly_report_pace")
st.subheader(_("Alerts"), anchor=False)
if report.nothing:
    st.markdown(literal(report.nothing))
for heading, items in report.sections:
    st.markdown(f"**{literal(heading)}**\n\n" + "\n".join(f"- {literal(i)}" for i in items))
