"""CSS colours and the WCAG 2.x contrast maths the ``contrast`` rule is built on."""

from __future__ import annotations

import re

_NAMED_COLOURS = {
    "black": "#000000", "white": "#ffffff", "red": "#ff0000", "green": "#008000", "blue": "#0000ff",
    "gray": "#808080", "grey": "#808080", "silver": "#c0c0c0", "yellow": "#ffff00", "orange": "#ffa500",
    "navy": "#000080", "maroon": "#800000", "purple": "#800080", "teal": "#008080", "lime": "#00ff00",
    "aqua": "#00ffff", "cyan": "#00ffff", "fuchsia": "#ff00ff", "magenta": "#ff00ff", "olive": "#808000",
    "darkgray": "#a9a9a9", "darkgrey": "#a9a9a9", "lightgray": "#d3d3d3", "lightgrey": "#d3d3d3",
    "dimgray": "#696969", "dimgrey": "#696969", "whitesmoke": "#f5f5f5", "gainsboro": "#dcdcdc",
}
# (red, green, blue) from 0 to 255 and alpha from 0 to 1.
Colour = tuple[float, float, float, float]


def parse_colour(value: str) -> Colour | None:
    """Read a CSS colour (#rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), a common name) as (r, g, b, alpha)."""
    value = value.strip().lower().removesuffix("!important").strip()
    value = _NAMED_COLOURS.get(value, value)
    if value == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if value.startswith("#"):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(digit * 2 for digit in digits)
        if len(digits) not in (6, 8) or not re.fullmatch(r"[0-9a-f]+", digits):
            return None
        alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha)
    match = re.fullmatch(r"rgba?\(([^)]*)\)", value)
    if match:
        parts = [part for part in re.split(r"[\s,/]+", match.group(1).strip()) if part]
        try:
            channels = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
            alpha = (float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])) \
                if len(parts) > 3 else 1.0
        except ValueError:
            return None
        if len(channels) == 3:
            return (channels[0], channels[1], channels[2], alpha)
    return None


def over(top: Colour, bottom: Colour) -> Colour:
    """Composite a possibly translucent colour over an opaque one."""
    alpha = top[3]
    return (top[0] * alpha + bottom[0] * (1 - alpha), top[1] * alpha + bottom[1] * (1 - alpha),
            top[2] * alpha + bottom[2] * (1 - alpha), 1.0)


def relative_luminance(colour: Colour) -> float:
    """Compute the WCAG relative luminance of an sRGB colour: 0 for black, 1 for white."""
    def linear(channel: float) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour[0]) + 0.7152 * linear(colour[1]) + 0.0722 * linear(colour[2])


def contrast_ratio(first: Colour, second: Colour) -> float:
    """Compute the WCAG contrast ratio of two opaque colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def hex_colour(colour: Colour) -> str:
    """Write an opaque colour as #rrggbb."""
    return "#" + "".join(f"{round(channel):02x}" for channel in colour[:3])


def known_colour(value: str) -> Colour:
    """Read a colour written in this package, which is known to parse."""
    colour = parse_colour(value)
    if colour is None:
        raise ValueError(f"not a colour: {value!r}")
    return colour
