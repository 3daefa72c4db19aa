"""Readable colours whatever the merchant chose (WCAG 2.x contrast). Pure functions.

Text needs 4.5:1 against its background (AA, normal text); the progress bar and other non-text
marks need 3:1. A merchant colour that falls short is shaded toward black or white, whichever
reads better, just far enough — the brand stays where it can, the text stays readable always.
"""

from dataclasses import dataclass

BLACK, WHITE = "#000000", "#FFFFFF"
TEXT_MINIMUM = 4.5
MARK_MINIMUM = 3.0


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_color: str) -> float:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def best_on(background: str) -> str:
    """Black or white, whichever has more contrast on `background`."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE


def _mix(color: str, target: str, share: float) -> str:
    channels = (
        round(int(color[i : i + 2], 16) * (1 - share) + int(target[i : i + 2], 16) * share)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{channel:02X}" for channel in channels)


def readable(color: str, background: str, minimum: float = TEXT_MINIMUM) -> str:
    """`color` if it reads on `background`, else the nearest shade of it toward black or white
    that does (the brand's hue survives where it can)."""
    if contrast(color, background) >= minimum:
        return color
    target = best_on(background)
    for tenth in range(1, 11):
        shade = _mix(color, target, tenth / 10)
        if contrast(shade, background) >= minimum:
            return shade
    return target


@dataclass(frozen=True, slots=True)
class Palette:
    header_background: str
    header_text: str
    background: str
    text: str
    link: str
    accent: str


def palette_for(primary: str, accent: str, background: str, text: str) -> Palette:
    return Palette(
        header_background=primary,
        header_text=best_on(primary),
        background=background,
        text=readable(text, background),
        link=readable(primary, background),
        accent=readable(accent, background, MARK_MINIMUM),
    )
