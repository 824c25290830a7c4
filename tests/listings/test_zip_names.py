"""Names of zip members written without the UTF-8 flag by Windows, read in the code page of
the system that wrote them: pure (a real zip by bsdtar in tests/masks/test_archives_real_tools)."""

import pytest

from segcore.archives.archive_zip import legacy_name


@pytest.mark.parametrize(
    "raw, name",
    [
        # Windows in Spanish: CP850, whose accented capitals CP437 reads as Greek and boxes
        (b"RI\xa5\xe0N_001_mask.png", "RIÑÓN_001_mask.png"),
        (b"M\xb5SCARAS/CR\xb5NEO_002_mask.png", "MÁSCARAS/CRÁNEO_002_mask.png"),
        (b"\xe9TERO_003_mask.png", "ÚTERO_003_mask.png"),
        (b"F\xd6BULA_\xd4RBITA.png", "FÍBULA_ÈRBITA.png"),
        # bytes both code pages read alike: CP437, as before
        (b"h\xa1gado_002_mask.png", "hígado_002_mask.png"),
        (b"ri\xa4\xa2n_mask.png", "riñón_mask.png"),
        # a byte CP850 reads as no letter (©): CP437
        (b"x\xb8y.png", "x╕y.png"),
    ],
)
def test_a_name_without_the_utf8_flag_is_read_in_the_code_page_that_wrote_it(raw, name):
    assert legacy_name(raw) == name
