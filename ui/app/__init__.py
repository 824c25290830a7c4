"""What every page stands on: session keys (`state`), the cached client (`connection`), the one
write path (`actions`), cached reads (`reads`), language (`i18n`, `labels`), the login gate
(`login`), shared widgets (`widgets`, `choices`), pages that follow new data (`live`) and what a
fresh app does before its first visitor (`warm_start`)."""
