"""A definition's state machine as SVG, laid out on the server in layers.

Each state's layer is its distance from the initial state (breadth-first); states of one layer
stack vertically. Forward edges are straight, edges that go back or stay in a layer bend. Text is
escaped: state labels are user input.
"""

from collections import deque
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BOX_W, BOX_H, COL_GAP, ROW_GAP, PAD = 150, 44, 90, 34, 24


@dataclass(frozen=True)
class Box:
    key: str
    label: str
    x: int
    y: int
    initial: bool
    terminal: bool


def layers(spec) -> dict[str, int]:
    depth = {spec.initial: 0}
    queue = deque([spec.initial])
    while queue:
        key = queue.popleft()
        for t in spec.outgoing(key):
            targets = [t.target] + ([t.gate.reject_to] if t.gate else [])
            for target in targets:
                if target not in depth:
                    depth[target] = depth[key] + 1
                    queue.append(target)
    last = max(depth.values(), default=0)
    for state in spec.states:  # unreachable states go in a column of their own at the end
        depth.setdefault(state.key, last + 1)
    return depth


def boxes(spec) -> dict[str, Box]:
    depth = layers(spec)
    rows: dict[int, int] = {}
    placed = {}
    for state in spec.states:
        layer = depth[state.key]
        row = rows.get(layer, 0)
        rows[layer] = row + 1
        placed[state.key] = Box(
            state.key,
            state.label,
            PAD + layer * (BOX_W + COL_GAP),
            PAD + row * (BOX_H + ROW_GAP),
            state.initial,
            state.terminal,
        )
    return placed


def _edges(spec):
    for t in spec.transitions:
        yield t.source, t.target, t.label + (" (approval)" if t.gate else ""), bool(t.gate)
        if t.gate:
            yield t.source, t.gate.reject_to, "Rejected", True


def render(spec, current: str | None = None) -> SafeString:
    placed = boxes(spec)
    width = max(b.x for b in placed.values()) + BOX_W + PAD
    height = max(b.y for b in placed.values()) + BOX_H + PAD + 20
    parts = [
        f'<svg class="wf-diagram" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-labelledby="wf-diagram-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="wf-diagram-title">State machine</title>',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>',
    ]
    for source, target, label, gated in _edges(spec):
        a, b = placed[source], placed[target]
        cls = "wf-edge gated" if gated else "wf-edge"
        if b.x > a.x:
            x1, y1, x2, y2 = a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2
            path = f"M{x1},{y1} C{x1 + COL_GAP / 2},{y1} {x2 - COL_GAP / 2},{y2} {x2},{y2}"
            lx, ly = (x1 + x2) / 2, (y1 + y2) / 2 - 6
        else:
            # Backwards or within a layer: an arc under the boxes.
            x1, y1, x2, y2 = a.x + BOX_W / 2, a.y + BOX_H, b.x + BOX_W / 2, b.y + BOX_H
            dip = max(y1, y2) + ROW_GAP
            path = f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2}"
            lx, ly = (x1 + x2) / 2, dip - 4
        parts.append(f'<path class="{cls}" d="{path}" marker-end="url(#wf-arrow)"/>')
        parts.append(
            f'<text class="wf-edge-label" x="{lx:.0f}" y="{ly:.0f}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for box in placed.values():
        cls = ["wf-state"]
        if box.initial:
            cls.append("initial")
        if box.terminal:
            cls.append("terminal")
        if box.key == current:
            cls.append("current")
        parts.append(
            f'<g class="{" ".join(cls)}" data-state="{escape(box.key)}">'
            f'<rect x="{box.x}" y="{box.y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{box.x + BOX_W / 2:.0f}" y="{box.y + BOX_H / 2 + 5:.0f}" text-anchor="middle">'
            f"{escape(box.label)}</text></g>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped
