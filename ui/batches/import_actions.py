"""The settings page's import: read the sources, show what would change, write after a yes.

Reading (an uploaded file, a path on the server, a folder scan) writes nothing; the preview
says how many batches are new, refreshed, to be flagged "folder missing" and unchanged, and
which keep their folder on disk instead of one that is not; only "Import" writes, through
`ui.app.actions.run_write`, re-planned against the data as it is then.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from segcore.core.errors import ImportFileError
from segcore.core.json_input import decode_text
from segcore.core.naming import cut
from segcore.store.connection import Databases
from segcore.work import batch_import, batches_file, import_merge
from ui.app import labels
from ui.app.actions import flash, run_write, show_error
from ui.app.connection import indexing
from ui.app.i18n import N_, _, format_number, ngettext
from ui.app.labels import literal
from ui.app.state import IMPORT_PREVIEW, IMPORT_RESULT, current_actor
from ui.app.widgets import metric_row

SHOWN_IDS = 50
SHOWN_REFUSED = 5

# Why an id cannot name a folder, as segcore.core.naming.unsafe_id_reason words it in English.
_REASONS = {
    "contains a path separator": N_("contains a path separator"),
    "contains '..'": N_("contains '..'"),
    "contains a control character": N_("contains a control character"),
    "is empty": N_("is empty"),
    "is '.', the folder itself": N_("is '.', the folder itself"),
    "is not valid UTF-8": N_("is not valid UTF-8"),
}
_TOO_LONG = re.compile(r"is longer than a folder name can be \((\d+) bytes\)")


def read_sources(
    uploaded,
    typed_file: str,
    typed_dir: str,
    count_images: bool,
    progress,
    same_batch: list[import_merge.SameBatch] | None = None,
    default_file: Path | None = None,
) -> tuple[list[batches_file.BatchEntry], Path | None]:
    """The entries of every source given, and the data directory; errors name what was typed.

    Folders the scan set aside, naming one batch, and batches naming one folder on disk are
    appended to `same_batch`. The prefilled `default_file` is skipped when it does not exist
    (see `missing_default`)."""
    directory = Path(typed_dir.strip()).expanduser() if typed_dir.strip() else None
    if directory is not None and not directory.is_dir():
        raise ImportFileError(
            N_("The data directory '{path}' is not a folder on the server."), path=typed_dir.strip()
        )
    sources = []
    if uploaded is not None:
        text = decode_text(uploaded.getvalue(), uploaded.name)  # invalid UTF-8 is named
        sources.append(  # an upload has no folder of its own to take relative folders under
            batches_file.parse_batches_json(
                text, source=uploaded.name, base=directory, refuse_relative=True
            )
        )
    if typed_file.strip() and not missing_default(typed_file, default_file):
        path = Path(typed_file.strip()).expanduser()
        if not path.exists() and not path.is_symlink():
            raise ImportFileError(
                N_("The batches file '{path}' does not exist on the server."),
                path=typed_file.strip(),
            )
        sources.append(batches_file.read_batches_file(path, base=directory))
    if directory is not None:
        sources.append(
            batch_import.scan_data_directory(
                directory, count_images, progress, same_batch=same_batch
            )
        )
    if not sources:
        raise ImportFileError(
            N_(
                "Nothing to import: upload a batches file, or give a "
                "batches file or a data directory on the server."
            )
        )
    merged = import_merge.merge_sources(*sources, set_aside=same_batch or (), shared=same_batch)
    if count_images:
        merged = batch_import.count_listed_images(merged)
    return merged, directory


def missing_default(typed_file: str, default_file: Path | None) -> bool:
    """True when `typed_file` is the form's prefilled default (`$DATA_DIRECTORY/batches.json`)
    and there is no such file: as for `segcore import`, the folders alone are then read. A file
    the user typed that does not exist stays an error."""
    if not typed_file.strip() or default_file is None:
        return False
    path = Path(typed_file.strip()).expanduser()
    return path == Path(default_file).expanduser() and not os.path.lexists(path)


def prepare(
    databases: Databases, uploaded, typed_file: str, typed_dir: str, count_images: bool, slot
) -> None:
    """Read the sources and keep what an import would do; a problem replaces the progress bar."""
    bar = slot.progress(0.0, text=_("Reading the batch list…"))
    same_batch: list[import_merge.SameBatch] = []
    try:
        entries, directory = read_sources(
            uploaded,
            typed_file,
            typed_dir,
            count_images,
            lambda done, total: bar.progress(
                done / total if total else 1.0,
                text=_("Scanned {done} of {total} folders").format(done=done, total=total),
            ),
            same_batch,
            databases.settings.effective_batches_file,
        )
        checker = batch_import.folder_checker(directory)
        plan = batch_import.preview_import(databases.work, entries, checker)
    except ImportFileError as exc:
        show_error(exc, slot)
        return
    slot.empty()
    st.session_state[IMPORT_PREVIEW] = {
        "entries": entries,
        "plan": asdict(plan),
        "directory": str(directory) if directory else None,
        "same_batch": same_batch,
        "no_default_file": typed_file.strip()
        if missing_default(typed_file, databases.settings.effective_batches_file)
        else None,
    }


def same_batch_lines(groups: list[import_merge.SameBatch]) -> list[str]:
    """One sentence per batch whose folders the scan set aside, and per folder that several
    batches name, in the session's language."""
    return [
        _shared_folder_line(g)
        if g.folder is not None
        else ngettext(
            "Not imported: {folders} names the same batch as folder '{kept}', which is "
            "imported instead.",
            "Not imported: {folders} name the same batch as folder '{kept}', which is "
            "imported instead.",
            len(g.others),
        ).format(folders=", ".join(map(repr, g.others)), kept=g.kept)
        if g.kept
        else _(
            "Not imported: {folders} name the same batch; none of them is imported until "
            "only one is left."
        ).format(folders=", ".join(map(repr, g.others)))
        for g in groups
    ]


def _shared_folder_line(group: import_merge.SameBatch) -> str:
    """What is said of batches that name one folder on disk (a link `batch_7 -> batch_1`)."""
    if group.kept:
        return ngettext(
            "Not imported: {batches} names the folder of batch '{kept}' ({folder}), which is "
            "imported instead.",
            "Not imported: {batches} name the folder of batch '{kept}' ({folder}), which is "
            "imported instead.",
            len(group.others),
        ).format(batches=", ".join(map(repr, group.others)), kept=group.kept, folder=group.folder)
    return _(
        "Not imported: {batches} share the folder {folder}; none of them is imported until "
        "each has its own."
    ).format(batches=", ".join(map(repr, group.others)), folder=group.folder)


def reason_text(why: str) -> str:
    """Why an id was refused, in the session's language (as given when not known)."""
    if why in _REASONS:
        return _(_REASONS[why])
    too_long = _TOO_LONG.fullmatch(why)
    if too_long:
        return _("is longer than a folder name can be ({bytes} bytes)").format(
            bytes=too_long.group(1)
        )
    return why


def _first_few(items: dict, separator: str, say) -> str:
    """The first SHOWN_REFUSED of `items`, each as `say(key, value)` words it, and how many
    more there are."""
    named = separator.join(say(k, v) for k, v in list(items.items())[:SHOWN_REFUSED])
    more = len(items) - SHOWN_REFUSED
    if more > 0:
        named += " " + ngettext("(and {count} more)", "(and {count} more)", more).format(
            count=format_number(more)
        )
    return named


def refused_warning(refused: dict[str, str]) -> str:
    """What the preview says of the entries an import will refuse: how many, the first few
    with why, how many more; "" for none."""
    if not refused:
        return ""
    named = _first_few(
        refused, "; ", lambda batch_id, why: f"{literal(repr(cut(batch_id)))}: {reason_text(why)}"
    )
    return ngettext(
        "{count} entry will be refused, its id not being a folder name: {entries}.",
        "{count} entries will be refused, their ids not being folder names: {entries}.",
        len(refused),
    ).format(count=format_number(len(refused)), entries=named)


def kept_folders_warning(kept: dict[str, dict]) -> str:
    """What the preview and the summary say of the stored batches whose folder, on disk, is
    kept instead of one that is not: how many, the first few with the folder not taken."""
    if not kept:
        return ""
    named = _first_few(
        kept,
        ", ",
        lambda batch_id, folders: (
            f"{literal(cut(batch_id))} ({literal(repr(cut(folders['not_on_disk'], 200)))})"
        ),
    )
    return ngettext(
        "{count} batch keeps its folder, the one the import names for it not being on disk: "
        "{batches}.",
        "{count} batches keep their folder, the one the import names for them not being on "
        "disk: {batches}.",
        len(kept),
    ).format(count=format_number(len(kept)), batches=named)


def other_folders_warning(other: dict[str, dict]) -> str:
    """What the preview and the summary say of the batches for which the sources named two
    folders: the one used, the other and why it is not (not on disk, or the batches file's
    folder comes first); "" for none."""
    if not other:
        return ""

    def say(batch_id: str, folders: dict) -> str:
        used = literal(repr(cut(folders["folder"], 200)))
        not_used = literal(repr(cut(folders["not_used"], 200)))
        return (
            _("{batch} at {folder} ({other} names it too)")
            if folders["on_disk"]
            else _("{batch} at {folder} ({other} is not on disk)")
        ).format(batch=literal(cut(batch_id)), folder=used, other=not_used)

    return ngettext(
        "{count} batch has two folders in the sources; the one used: {batches}.",
        "{count} batches have two folders in the sources; the ones used: {batches}.",
        len(other),
    ).format(count=format_number(len(other)), batches=_first_few(other, "; ", say))


def same_text_note(same_text: dict[str, str]) -> str:
    """What the preview says of ids that are a stored batch's id in another Unicode form (a
    name copied from a Mac): they look alike, so which batch each one is, with its code."""
    named = _first_few(
        same_text, ", ", lambda given, stored: f"{literal(ascii(given))} → {literal(ascii(stored))}"
    )
    return ngettext(
        "{count} id is a stored batch's id written in another Unicode form; it is that batch "
        "and its stored id is kept: {ids}.",
        "{count} ids are stored batches' ids written in another Unicode form; each is that "
        "batch and its stored id is kept: {ids}.",
        len(same_text),
    ).format(count=format_number(len(same_text)), ids=named)


def kept_values_note(kept: dict[str, dict]) -> str:
    """What the preview and the summary say of stored batches whose priority or due date the
    sources give otherwise: kept, an import setting them on new batches only; "" for none."""
    if not kept:
        return ""

    def say(batch_id: str, fields: dict) -> str:
        return (
            f"{literal(cut(batch_id))} ("
            + "; ".join(
                _("{field}: {kept}, not {given}").format(
                    field=labels.batch_field(name),
                    kept=literal(labels.batch_value(name, values["kept"]))
                    if values["kept"] is not None
                    else _("no value"),
                    given=literal(labels.batch_value(name, values["given"])),
                )
                for name, values in fields.items()
            )
            + ")"
        )

    return ngettext(
        "{count} batch keeps its priority or due date: an import sets them on new batches "
        "only (change them in the table): {batches}.",
        "{count} batches keep their priority or due date: an import sets them on new batches "
        "only (change them in the table): {batches}.",
        len(kept),
    ).format(count=format_number(len(kept)), batches=_first_few(kept, ", ", say))


def _imported(result: batch_import.ImportResult, same_batch=()) -> str:
    st.session_state[IMPORT_PREVIEW] = None
    st.session_state[IMPORT_RESULT] = asdict(result)
    if kept := kept_folders_warning(result.kept_folders):  # asked for and not done: not green
        flash("warning", kept)
    if other := other_folders_warning(result.other_folders):  # chosen: said, as in the preview
        flash("warning", other)
    if kept_values := kept_values_note(result.kept_values):
        flash("info", kept_values)
    refused = "".join(
        " "
        + _("Refused (not a folder name): {id}: {why}.").format(
            id=repr(cut(batch_id)), why=reason_text(why)
        )
        for batch_id, why in list(result.refused.items())[:5]
    )
    return (
        _("Import finished: {added}, {updated}, {unchanged}, {missing}.").format(
            added=ngettext("{count} added", "{count} added", result.added).format(
                count=format_number(result.added)
            ),
            updated=ngettext("{count} refreshed", "{count} refreshed", result.updated).format(
                count=format_number(result.updated)
            ),
            unchanged=ngettext("{count} unchanged", "{count} unchanged", result.unchanged).format(
                count=format_number(result.unchanged)
            ),
            missing=ngettext(
                "{count} flagged missing", "{count} flagged missing", len(result.flagged_missing)
            ).format(count=format_number(len(result.flagged_missing))),
        )
        + (
            " "
            + ngettext("{count} refused.", "{count} refused.", len(result.refused)).format(
                count=len(result.refused)
            )
            + refused
            if result.refused
            else ""
        )
        + "".join(" " + line for line in same_batch_lines(list(same_batch)))
    )


def _ids(label: str, ids: list[str]) -> None:
    if ids:
        st.caption(
            f"{_(label)}: " + ", ".join(ids[:SHOWN_IDS]) + (" …" if len(ids) > SHOWN_IDS else "")
        )


def show_counts(plan: dict) -> None:
    """New, refreshed, to be flagged and unchanged batches as four figures."""
    metric_row(
        (label, format_number(value))
        for label, value in (
            (_("New"), plan["added"]),
            (_("Refreshed"), plan["updated"]),
            (_("Flagged folder missing"), len(plan["flagged_missing"])),
            (_("Unchanged"), plan["unchanged"]),
        )
    )
    _ids(N_("Folder missing on disk"), plan["flagged_missing"])
    _ids(N_("Folder found again"), plan["restored"])


def confirm(databases: Databases) -> None:
    """The preview, then Import (writes) or Cancel (forgets it)."""
    preview = st.session_state.get(IMPORT_PREVIEW)
    if not preview:
        return
    with st.container(border=True):
        st.markdown("**" + _("Preview: nothing is written until you press Import") + "**")
        show_counts(preview["plan"])
        refused = refused_warning(preview["plan"].get("refused") or {})
        if refused:
            st.warning(refused)
        if preview.get("no_default_file"):
            st.caption(
                _("There is no batches file at '{path}': the folders alone are read.").format(
                    path=preview["no_default_file"]
                )
            )
        for line in same_batch_lines(preview.get("same_batch") or []):
            st.warning(line)
        if kept := kept_folders_warning(preview["plan"].get("kept_folders") or {}):
            st.warning(kept)
        if other := other_folders_warning(preview["plan"].get("other_folders") or {}):
            st.warning(other)
        if same_text := preview["plan"].get("same_text"):
            st.caption(same_text_note(same_text))
        if kept_values := kept_values_note(preview["plan"].get("kept_values") or {}):
            st.info(kept_values)
        if not preview["directory"]:
            st.caption(
                _(
                    "No data directory was given, so no folder is checked on disk and "
                    "nothing is flagged missing."
                )
            )
        slot = st.empty()
        yes, no = st.columns(2)
        if yes.button(_("Import"), type="primary", key="import_confirm"):
            directory = Path(preview["directory"]) if preview["directory"] else None
            indexing().wait()  # new batches need the unique id index, built in the background
            run_write(
                _("Importing"),
                batch_import.import_batches,
                databases.work,
                preview["entries"],
                current_actor(),
                batch_import.folder_checker(directory),
                then=lambda result: _imported(result, preview.get("same_batch") or []),
                slot=slot,
            )
        if no.button(_("Cancel"), key="import_cancel"):
            st.session_state[IMPORT_PREVIEW] = None
            st.rerun()
