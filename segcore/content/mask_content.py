"""Content rules for one mask against its image, and the words for what is wrong: pure functions.

A problem is stored as a code with parameters (`{"name", "code", "params"}`), worded here in
English for the command line and in the reader's language by the interface (the templates are
marked for the catalog).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from segcore.content.formats.mask_geometry import (
    LABEL_TOLERANCE,
    Geometry,
    MaskValues,
    grid_size,
    in_order_of,
)
from segcore.core.errors import N_

OFFENDERS_SHOWN = 50
SPACING_TOLERANCE = 1e-3  # relative: scanners write 0.7 as 0.69999999
ORIGIN_TOLERANCE_MM = 1e-2
DIRECTION_TOLERANCE = 1e-3

# code -> the count it adds to; `header_only` is a note, not a problem
COUNTED = {
    "size": "wrong_size",
    "spacing": "wrong_size",
    "origin": "wrong_size",
    "slice": "wrong_size",
    "direction": "wrong_size",
    "empty": "empty",
    "too_small": "too_small",
    "labels": "bad_labels",
    "unreadable": "unreadable",
}
COUNT_KEYS = ("wrong_size", "empty", "too_small", "bad_labels", "unreadable")
TEMPLATES = {
    "size": N_("{name}: {mask}, image {image}"),
    "spacing": N_("{name}: spacing {mask}, image {image}"),
    "origin": N_("{name}: origin {mask}, image {image}"),
    "direction": N_("{name}: direction {mask}, image {image}"),
    "slice": N_(
        "{name}: a slice drawn at {mask} mm along the slices, not on any of the image's "
        "{count} slices ({first} to {last} mm)"
    ),
    "empty": N_("{name}: empty"),
    "too_small": N_("{name}: {pixels} non-zero pixels, fewer than {minimum}"),
    "labels": N_("{name}: label {labels} not in {allowed}"),
    "unreadable": N_("{name}: unreadable ({reason})"),
    "header_only": N_("{name}: {voxels} voxels, over the limit: size checked from the header only"),
    "detached": N_("{name}: its values are in a separate file: size checked from the header only"),
    "image_unreadable": N_("{name}: its image cannot be read ({reason})"),
    "no_reader": N_("{name}: contents not checked ({reason})"),
}
UPLOAD_NOTES = {
    "too_large": N_("too large to check: masks past its first {budget} MB not checked"),
    "unreadable": N_("the upload cannot be read ({reason})"),
}


@dataclass(frozen=True)
class Rules:
    """The settings the values are checked against."""

    labels: tuple[float, ...] | None = None  # MASK_LABELS; None: not checked
    min_pixels: int = 0  # MASK_MIN_PIXELS; 0: not checked
    max_voxels: int = 64_000_000  # MASK_QC_MAX_VOXELS


def number(value: float) -> str:
    """A value as people write it: 3 for a whole label, 0.8 or 1.00012 otherwise (never a
    value rounded to look like a label it is not)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10g}"


def _spacing_text(values) -> str:
    return "×".join(f"{v:.1f}" if float(v).is_integer() else f"{v:.4g}" for v in values)


def _close(a, b, rel: float = 0.0, absolute: float = 0.0) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=rel, abs_tol=absolute) for x, y in zip(a, b)
    )


def _same_length(a, b) -> tuple[tuple, tuple]:
    """Two points of a 2D grid as one format writes it (x, y) and another (x, y, 0): the
    shorter padded with zeros."""
    length = max(len(a), len(b))
    return tuple(a) + (0.0,) * (length - len(a)), tuple(b) + (0.0,) * (length - len(b))


def _image_volume(mask: Geometry, image: Geometry) -> tuple[int, ...]:
    """The image size a mask is compared with: one volume of a series (a 4D image) for a mask
    of up to three dimensions (a single-slice series' volume is 2D: its inner 1 dropped)."""
    if len(image.size) > 3 and len(mask.size) <= 3:
        return grid_size(image.size[:3])
    return image.size


def _fewer_slices(mask: Geometry, size: tuple[int, ...]) -> bool:
    """A DICOM SEG that left out the positions where nothing is drawn: the image's width and
    height, fewer slices."""
    if not mask.partial_stack or len(size) != 3 or mask.size[:2] != size[:2]:
        return False
    return len(mask.size) == 2 or (len(mask.size) == 3 and mask.size[2] < size[2])


def _origin_differs(mask: Geometry, image: Geometry, along_slices: bool) -> bool:
    """True when the origins differ beyond the tolerance; with `along_slices` False (a SEG of
    fewer slices, which may start at another one) only within the image's plane, each of its
    slices' positions (`_off_slice` places them along the normal)."""
    mask_origin, image_origin = _same_length(mask.origin, image.origin)
    if along_slices:
        return not _close(mask_origin, image_origin, absolute=ORIGIN_TOLERANCE_MM)
    if not image.direction or len(mask_origin) != 3:
        return False
    axes = (image.direction[0::3], image.direction[1::3])  # the row and column directions
    for position in mask.positions or (mask_origin,):
        offset = [a - b for a, b in zip(position, image_origin)]
        if any(abs(_dot(offset, axis)) > ORIGIN_TOLERANCE_MM for axis in axes):
            return True
    return False


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))


def _image_slices(image: Geometry) -> list[float] | None:
    """Where the image's slices lie along its normal (mm): its frames' own positions (a
    multi-frame DICOM), else its origin's plus a whole number of slice spacings; None when its
    grid does not say."""
    if not image.direction or not image.origin or len(image.origin) != 3 or len(image.size) < 3:
        return None
    normal = image.direction[2::3]
    if image.positions:
        return [_dot(position, normal) for position in image.positions]
    if not image.spacing or len(image.spacing) < 3:
        return None
    first = _dot(image.origin, normal)
    return [first + index * image.spacing[2] for index in range(image.size[2])]


def _off_slice(mask: Geometry, image: Geometry) -> tuple[str, dict] | None:
    """A SEG of fewer slices than its image (the drawn ones): the first of its slices that is
    no slice of the image (outside the volume or between two slices) along the image's normal,
    within the origin's tolerance plus the spacing's for each slice away from the first."""
    slices = _image_slices(image)
    if not slices or not mask.positions:
        return None
    normal = image.direction[2::3]
    for position in mask.positions:
        along = _dot(position, normal)
        allowed = [ORIGIN_TOLERANCE_MM + SPACING_TOLERANCE * abs(s - slices[0]) for s in slices]
        if not any(abs(along - s) <= tolerance for s, tolerance in zip(slices, allowed)):
            return (
                "slice",
                {
                    "mask": _spacing_text([along]),
                    "count": len(slices),
                    "first": _spacing_text([min(slices)]),
                    "last": _spacing_text([max(slices)]),
                },
            )
    return None


def compare_grid(mask: Geometry, image: Geometry) -> list[tuple[str, dict]]:
    """What differs between a mask's grid and its image's: size, then (when both carry them)
    spacing, origin and direction within the tolerances. A volume mask of a series (a 4D
    image) is compared with one of its volumes; a mask of several volumes is not the mask of
    one. A DICOM SEG may hold fewer slices than its image (those where something is drawn):
    each of them must lie on one of the image's slices.

    A grid stated in two frames (a NIfTI whose qform and sform differ, as registration tools
    leave them: ITK-based tools read it by its qform, nibabel by its sform) fits when either
    of the mask's fits either of the image's; otherwise what differs in their first frames."""
    mask = in_order_of(mask, image)  # a .npy mask's axes, in the order its image is read
    if mask.partial_stack and image.stored_downward:
        image = image.alternative  # a SEG's origin is its lowest slice: the normal's frame
    problems = _grid_differences(mask, image)
    if problems and (mask.alternative or image.alternative):
        for side in (mask, mask.alternative):
            for other in (image, image.alternative):
                if side and other and not _grid_differences(side, other):
                    return []
    return problems


def _grid_differences(mask: Geometry, image: Geometry) -> list[tuple[str, dict]]:
    """compare_grid's differences between two grids each in one frame."""
    size = _image_volume(mask, image)
    fewer = mask.size != size and _fewer_slices(mask, size)
    if mask.size != size and not fewer:
        return [
            (
                "size",
                {"mask": "×".join(map(str, mask.size)), "image": "×".join(map(str, image.size))},
            )
        ]
    problems = []
    if mask.spacing and image.spacing:
        dims = min(len(mask.spacing), len(image.spacing))
        if not _close(mask.spacing[:dims], image.spacing[:dims], rel=SPACING_TOLERANCE):
            problems.append(
                (
                    "spacing",
                    {"mask": _spacing_text(mask.spacing), "image": _spacing_text(image.spacing)},
                )
            )
    if mask.origin and image.origin and _origin_differs(mask, image, not fewer):
        problems.append(
            ("origin", {"mask": _spacing_text(mask.origin), "image": _spacing_text(image.origin)})
        )
    elif fewer and mask.origin and image.origin:
        problems.extend(filter(None, [_off_slice(mask, image)]))
    if (
        mask.direction
        and image.direction
        and not _close(mask.direction, image.direction, absolute=DIRECTION_TOLERANCE)
    ):
        problems.append(
            (
                "direction",
                {"mask": _spacing_text(mask.direction), "image": _spacing_text(image.direction)},
            )
        )
    return problems


def _a_label(value: float, labels) -> bool:
    return any(math.isclose(value, label, rel_tol=0, abs_tol=LABEL_TOLERANCE) for label in labels)


def _one_bit_on(labels) -> float:
    """The label a 1-bit image's "on" is: 1, or 255 when the agreed labels list 255 and not 1
    (the same black-and-white mask saved in 8 bits is 0 and 255)."""
    return 255.0 if _a_label(255.0, labels) and not _a_label(1.0, labels) else 1.0


def check_values(values: MaskValues, rules: Rules) -> list[tuple[str, dict]]:
    """Empty, too few non-zero pixels, or labels outside the agreed ones (a 1-bit mask's "on"
    is 1 or 255, whichever the agreed labels name)."""
    problems = []
    if values.nonzero == 0:
        problems.append(("empty", {}))
    elif rules.min_pixels and values.nonzero < rules.min_pixels:
        problems.append(("too_small", {"pixels": values.nonzero, "minimum": rules.min_pixels}))
    if rules.labels is not None:
        found = values.labels
        if values.one_bit:
            found = [_one_bit_on(rules.labels) if v == 1.0 else v for v in found]
        bad = [v for v in found if not _a_label(v, rules.labels)]
        if bad:
            shown = ", ".join(number(v) for v in bad[:5]) + (", ..." if len(bad) > 5 else "")
            problems.append(
                ("labels", {"labels": shown, "allowed": ",".join(number(v) for v in rules.labels)})
            )
    return problems


def check_mask(
    mask: Geometry,
    values: MaskValues | None,
    image: Geometry | None,
    rules: Rules,
    detached: bool = False,
) -> list[tuple[str, dict]]:
    """Every problem of one mask against its image (values None: checked by header only, over
    the voxel limit or, `detached`, because its values are in a file of their own). With no
    image (it cannot be read) the mask's own values are still checked: emptiness and labels
    do not depend on its image."""
    problems = compare_grid(mask, image) if image is not None else []
    if values is None:
        return problems + [
            ("detached", {}) if detached else ("header_only", {"voxels": mask.voxels})
        ]
    return problems + check_values(values, rules)


@dataclass
class ContentTally:
    """Counts and the first offenders of one upload or one batch.

    `masks` keeps one entry per checked mask (`k`: the image it was matched to, `b`: that
    image's batch, `n`: its name, `c`: the counts it adds to, `h`: checked by header only), so
    that a batch's sum takes its own images' newest masks (see `newest_masks`)."""

    checked: int = 0
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    header_only: int = 0
    problems: int = 0  # masks with at least one problem
    offenders: list[dict] = field(default_factory=list)
    masks: list[dict] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return {m["n"] for m in self.masks}

    def add(
        self,
        name: str,
        problems: list[tuple[str, dict]],
        key: str | None = None,
        batch: str | None = None,
        counted: bool = True,
        problems_counted: bool = False,
    ) -> None:
        """Count one checked mask and its problems (first OFFENDERS_SHOWN kept by name);
        `key`: the image it was matched to, `batch`: that image's batch; not `counted`: a
        mask already counted for another image (kept for that image's batch's sum only), its
        problems counted all the same with `problems_counted`."""
        real = [(code, params) for code, params in problems if code in COUNTED]
        header_only = any(code in ("header_only", "detached") for code, _ in problems)
        kinds = sorted({COUNTED[code] for code, _ in real})
        mask = {"k": key if key is not None else name, "n": name, "c": kinds}
        if header_only:
            mask["h"] = True
        if batch:
            mask["b"] = batch
        self.masks.append(mask)
        if counted:
            self._count(kinds, header_only)
        elif problems_counted and kinds:
            for kind in kinds:
                self.counts[kind] += 1
            self.problems += 1
        for code, params in problems:
            if len(self.offenders) < OFFENDERS_SHOWN:
                offender = {"name": name, "code": code, "params": params}
                self.offenders.append({**offender, "b": batch} if batch else offender)

    def _count(self, kinds: list[str], header_only: bool) -> None:
        self.checked += 1
        for counted in kinds:
            self.counts[counted] += 1
        self.header_only += header_only
        self.problems += bool(kinds)

    def merge(self, stored: dict) -> None:
        """Add an upload's stored summary (a batch's tally is the sum of its uploads')."""
        self.checked += int(stored.get("checked") or 0)
        for key in COUNT_KEYS:
            self.counts[key] += int((stored.get("counts") or {}).get(key) or 0)
        self.header_only += int(stored.get("header_only") or 0)
        self.problems += int(stored.get("problems") or 0)
        room = OFFENDERS_SHOWN - len(self.offenders)
        self.offenders.extend((stored.get("offenders") or [])[: max(0, room)])

    def as_dict(self) -> dict:
        return {
            "checked": self.checked,
            "counts": dict(self.counts),
            "header_only": self.header_only,
            "problems": self.problems,
            "offenders": list(self.offenders),
        }


def newest_masks(results: list[dict], batch: str | None = None) -> tuple[ContentTally, set[int]]:
    """A batch's content from its uploads' stored results, oldest upload first: each of its
    images counts its newest upload's mask only, so a corrected re-upload (the whole batch
    again, or the one mask fixed) replaces what was wrong; the masks an upload holds for
    another `batch` are that batch's. A result stored without `masks` (by an older version)
    adds whole, as it used to. An offender is its mask's by the image it names (`k`, whatever
    path it is shown by: `old/img_003_mask.png`), else by its name. Also returns the places in
    `results` still counted."""

    def ours(entry: dict) -> bool:
        return batch is None or entry.get("b") in (None, batch)

    newest: dict[str, tuple[int, dict]] = {}
    for at, result in enumerate(results):
        for mask in result.get("masks") or ():
            if isinstance(mask, dict) and isinstance(mask.get("k"), str) and ours(mask):
                newest[mask["k"]] = (at, mask)
    current = {(at, mask.get("n"), mask.get("b")) for at, mask in newest.values()}
    current |= {(at, ("k", mask["k"]), mask.get("b")) for at, mask in newest.values()}
    tally = ContentTally()
    for at, result in enumerate(results):
        if not isinstance(result.get("masks"), list):
            tally.merge(result)
            continue
        for offender in result.get("offenders") or ():
            shown_as = ("k", offender["k"]) if "k" in offender else offender.get("name")
            here = (at, shown_as, offender.get("b"))
            if here in current and len(tally.offenders) < OFFENDERS_SHOWN:
                tally.offenders.append(offender)
    for _, mask in sorted(newest.values(), key=lambda pair: pair[0]):
        kinds = [k for k in mask.get("c") or () if k in COUNT_KEYS]
        tally.masks.append(mask)
        tally._count(kinds, bool(mask.get("h")))
    counting = {at for at, _ in newest.values()}
    counting |= {at for at, r in enumerate(results) if not isinstance(r.get("masks"), list)}
    return tally, counting


def describe(offender: dict, translate=lambda text: text) -> str:
    """One offender in words: English by default, `translate` gives the reader's language."""
    template = TEMPLATES.get(offender.get("code"), "{name}: {code}")
    params = {
        "name": offender.get("name"),
        "code": offender.get("code"),
        **(offender.get("params") or {}),
    }
    try:
        return translate(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return template.format_map({**params, **{k: "?" for k in ("mask", "image")}})


def describe_note(note: dict, translate=lambda text: text) -> str:
    """An upload-level note (too large, unreadable) in words."""
    template = UPLOAD_NOTES.get(note.get("code"), "{code}")
    try:
        return translate(template).format(code=note.get("code"), **(note.get("params") or {}))
    except (KeyError, IndexError, ValueError):
        return str(note.get("code"))
