"""Every reason the content check words itself is shown in Spanish on a Spanish page.

The checks store their reasons in English (the command line and JSON print them); the app words
them from `segcore.content.formats.read_reasons`. Each of its texts is worded here, filled as a
check fills it, and the content modules are walked for any reason written in place instead
(an f-string or a text of their own): such a reason would reach a Spanish page in English."""

from __future__ import annotations

import ast
import importlib
import string
import struct
import zlib

import numpy as np
import pytest

from segcore.archives.archive_zip import MEMBER_REASONS
from segcore.content import reason_words
from segcore.content.formats import read_reasons
from segcore.content.mask_content_check import check_content
from segcore.masks.mask_check import verify
from tests.content.test_mask_content_archives import lab, png, square
from tests.content.test_mask_content_formats import zipped
from tests.helpers import ROOT
from ui.app import i18n, labels

__all__ = ["lab"]  # the fixture, shared

LIBRARY = "Truncated File Read"  # a library's own words: kept as the library said them


def filled(template: str) -> str:
    """`template` as a check stores it, each field holding a library's words."""
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    return template.format(**dict.fromkeys(fields, LIBRARY))


STORED = [
    *read_reasons.PHRASES,
    *(filled(template) for template in read_reasons.TEMPLATES),
    *(read_reasons.not_readable(kind, LIBRARY) for kind in read_reasons.KINDS),
    *(read_reasons.not_readable(read_reasons.DICOM_FILE, p) for p in read_reasons.PHRASES),
    *(
        read_reasons.NOT_AN_IMAGE.format(what="RT Plan", noun=noun)
        for noun in read_reasons.NOT_AN_IMAGE_WORDED
    ),
]


@pytest.mark.parametrize("stored", STORED)
def test_every_reason_the_check_words_is_shown_in_spanish(monkeypatch, stored):
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    shown = labels.read_reason(stored)
    assert shown != stored, f"no Spanish for {stored!r}"
    assert LIBRARY not in stored or LIBRARY in shown
    for inner in read_reasons.PHRASES:  # a reason inside another is worded too
        assert inner not in shown


def _png_grey_alpha_16(label: np.ndarray) -> bytes:
    """A 16-bit grey-and-alpha PNG (colour type 4), as ITK and some viewers write a mask."""
    rows = b"".join(
        b"\x00" + np.stack([row, np.full(row.size, 65535)], -1).astype(">u2").tobytes()
        for row in label
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", label.shape[1], label.shape[0], 16, 4, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))


def test_the_reasons_a_tester_saw_in_english_are_in_spanish(lab, upload, tmp_path, monkeypatch):
    """An .npz of two arrays (`np.savez(mask=..., probabilities=...)`), a 16-bit grey-and-alpha
    PNG and a right mask whose image was deleted after the listing, zipped by Info-ZIP: the
    Spanish pages word every reason, as the Batches and Receipts pages show them."""
    lab.images("a", "b", "c")
    label = square()
    np.savez(lab.masks / "a_mask.npz", mask=label, probabilities=label.astype(float))
    (lab.masks / "b_mask.png").write_bytes(_png_grey_alpha_16(label.astype(np.uint16)))
    png(lab.masks / "c_mask.png", label)
    upload("batch_1.zip", zipped(lab, tmp_path), chunk_size=4096)
    verify(lab, ["batch_1"])
    (lab.settings.data_directory / "batch_1" / "c.png").unlink()
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    assert sorted(labels.offender(o) for o in row["offenders"]) == [
        "a_mask.npz: ilegible (un .npz de 2 matrices: no se sabe cuál es la máscara)",
        "b_mask.png: ilegible (una imagen de 16 bits a color o gris con alfa que ninguna "
        "biblioteca de aquí lee a su profundidad completa (Pillow conserva 8 bits, SimpleITK la "
        "rechaza))",
        "c_mask.png: su imagen no se puede leer (ya no está en la carpeta del lote)",
    ]


# --- no reason composed outside read_reasons ------------------------------------------------

RAISED = {"UnreadableUpload", "NoReader"}
KNOWN = {*read_reasons.PHRASES, *read_reasons.TEMPLATES, read_reasons.NOT_AN_IMAGE, *MEMBER_REASONS}


def _reasons(tree: ast.AST):
    """Each expression a module gives as a reason: what it raises UnreadableUpload or NoReader
    with, a `"reason"` it stores, a `reason` it assigns, and what a `*reason*` or `no_reader`
    function returns."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in RAISED and node.args:
            yield node.args[0]
        elif isinstance(node, ast.Dict):
            yield from (
                v for k, v in zip(node.keys, node.values) if getattr(k, "value", None) == "reason"
            )
        elif isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "reason" for t in node.targets
        ):
            yield node.value
        elif isinstance(node, ast.FunctionDef) and (
            "reason" in node.name or node.name == "no_reader"
        ):
            yield from (r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value)


def _written_in_place(expr: ast.AST, module) -> list[str]:
    """Why `expr` is a reason of its module's own words: a text, an f-string or a template
    that is not read_reasons' (what a library said, in `detail`, is no reason of ours)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [repr(expr.value)]
    if isinstance(expr, ast.JoinedStr):
        return [ast.unparse(expr)]
    if isinstance(expr, ast.IfExp):
        return _written_in_place(expr.body, module) + _written_in_place(expr.orelse, module)
    if isinstance(expr, ast.BoolOp):
        return [w for value in expr.values for w in _written_in_place(value, module)]
    if isinstance(expr, ast.BinOp):
        return [ast.unparse(expr)] if _texts(expr) else []
    if isinstance(expr, (ast.Name, ast.Attribute)) and isinstance(_value(expr, module), str):
        return [] if _value(expr, module) in KNOWN else [ast.unparse(expr)]
    if isinstance(expr, ast.Call) and getattr(expr.func, "attr", None) == "format":
        value = _value(expr.func.value, module)
        known = value in KNOWN or value in {t for t, _ in reason_words.COMPOSED}
        return [] if known else [ast.unparse(expr.func.value)]
    return []


def _value(expr: ast.AST, module):
    """What a name (`COLOUR`) or an attribute (`reasons.COLOUR`) holds in `module`."""
    if isinstance(expr, ast.Name):
        return getattr(module, expr.id, None)
    if isinstance(expr, ast.Attribute):
        return getattr(_value(expr.value, module), expr.attr, None)
    return None


def _texts(expr: ast.AST) -> bool:
    return any(isinstance(n, (ast.Constant, ast.JoinedStr)) for n in ast.walk(expr))


def test_no_content_module_words_a_reason_outside_read_reasons():
    found = []
    for path in sorted((ROOT / "segcore" / "content").rglob("*.py")):
        if path.stem == "reason_words":  # words stored reasons again for a reader, composes none
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(name)
        for expr in _reasons(ast.parse(path.read_text())):
            found += [f"{name}:{expr.lineno}: {w}" for w in _written_in_place(expr, module)]
    assert found == [], "add these to read_reasons:\n" + "\n".join(found)
