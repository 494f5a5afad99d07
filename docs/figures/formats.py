"""Numbers, ratios, targets and dates as a reader wants them, for the charts (figures.svg) and the tables
(figures.fragments) alike.
"""


def format_number(value):
    """18.46 M, 198,239, 205.9, 4.03, 0.27."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    if value == int(value):
        return f"{value:.0f}"
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def with_unit(value, unit):
    return f"{format_number(value)} {unit}"


def format_ratio(ratio):
    """A ratio as 0.0059×, 0.27×, 4.48×, 12.1×."""
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def ratios(chart, bar):
    """The bar's ratios against its named peers, "0.27× glibc-syscall, 1.01× rust-asm"; peers without a value
    in this chart are left out."""
    parts = []
    for peer in bar.peers:
        peer_value = chart.value_of(peer)
        if peer_value is not None and peer_value > 0:
            parts.append(f"{format_ratio(bar.value / peer_value)} {peer}")
    return ", ".join(parts)


def target_text(chart):
    """"≤ 50 ms" or "≥ 9.83 M tasks/s": the target as a bound, the side that meets it first."""
    return f"{'≤' if chart.better == 'lower' else '≥'} {with_unit(chart.target, chart.unit)}"


def readable_date(stamp):
    """2026-12-06T08:09:24Z as 2026-12-06 08:09 UTC; anything else as it is."""
    if len(stamp) == 20 and stamp[10] == "T" and stamp.endswith("Z"):
        return f"{stamp[:10]} {stamp[11:16]} UTC"
    return stamp or "at an unrecorded date"
