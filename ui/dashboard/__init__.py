"""The Dashboard: its charts (`charts`, plotly from plain rows, also drawn by other pages), the
Attention panel (`attention`) and the demo data offered on an empty database (`dashboard_demo`)."""
