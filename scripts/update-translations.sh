#!/usr/bin/env bash
# Extract the interface's texts into locales/messages.pot and merge them into each catalog
# (locales/<lang>/LC_MESSAGES/messages.po): new texts appear there untranslated, and the
# test suite fails until they are translated. The catalogs are compiled by the app itself.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
"$PYBABEL" extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 -k Nn_:1,2 --no-location --sort-output \
  --project "segmentation-dashboard" -o locales/messages.pot .
for catalog in locales/*/LC_MESSAGES/messages.po; do
  "$PYBABEL" update --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot \
    -o "$catalog" -l "$(basename "$(dirname "$(dirname "$catalog")")")"
done
