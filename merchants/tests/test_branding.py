import pytest

from merchants.branding import contrast, palette_for


def test_contrast_matches_the_wcag_reference_values():
    assert round(contrast("#000000", "#FFFFFF"), 2) == 21.0
    assert round(contrast("#777777", "#FFFFFF"), 2) == 4.48
    assert round(contrast("#FFFFFF", "#FFFFFF"), 2) == 1.0


def test_a_brand_that_reads_well_is_kept():
    palette = palette_for("#B71C1C", "#1565C0", "#FFFFFF", "#1A1A1A")
    assert (palette.header_text, palette.text, palette.link, palette.accent) == (
        "#FFFFFF", "#1A1A1A", "#B71C1C", "#1565C0")  # fmt: skip


@pytest.mark.parametrize(
    ("primary", "accent", "background", "text"),
    [("#FFFF00", "#FFFF66", "#FFFFFF", "#EEEEEE"),  # all pale
     ("#111111", "#000033", "#000000", "#222222"),  # all dark
     ("#777777", "#808080", "#7F7F7F", "#888888")],  # mid grey everywhere
)  # fmt: skip
def test_whatever_the_merchant_chose_text_stays_readable(primary, accent, background, text):
    palette = palette_for(primary, accent, background, text)
    assert contrast(palette.header_text, palette.header_background) >= 4.5
    assert contrast(palette.text, palette.background) >= 4.5
    assert contrast(palette.link, palette.background) >= 4.5
    assert contrast(palette.accent, palette.background) >= 3.0


def test_a_pale_accent_is_shaded_just_enough_not_replaced():
    palette = palette_for("#004D40", "#F9A825", "#FAFAF5", "#1A1A1A")
    assert palette.accent not in ("#F9A825", "#000000")
    assert 3.0 <= contrast(palette.accent, "#FAFAF5") < 4.5
