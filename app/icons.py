"""Tool icons drawn with QPainter (no image files to ship or license)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from app.session import Tool

_SIZE = 48  # drawn at 2x and scaled down by Qt, so icons stay crisp on HiDPI screens
_INK = QColor(222, 225, 230)


def _path(points: list[tuple[float, float]], close: bool = False) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for p in points[1:]:
        path.lineTo(QPointF(*p))
    if close:
        path.closeSubpath()
    return path


def _draw(tool: Tool, p: QPainter) -> None:
    pen = QPen(_INK, 3.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
               Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    if tool is Tool.BRUSH:
        p.drawPath(_path([(34, 8), (40, 14), (22, 32), (16, 26)], close=True))
        p.setBrush(QColor(64, 160, 255))
        p.drawPath(_path([(16, 26), (22, 32), (16, 40), (8, 40), (10, 32)], close=True))
    elif tool is Tool.ERASER:
        p.drawPath(_path([(26, 8), (40, 22), (24, 38), (10, 24)], close=True))
        p.setBrush(QColor(255, 120, 150))
        p.drawPath(_path([(10, 24), (17, 31), (24, 38), (17, 31), (24, 24)]))
        p.drawLine(QPointF(14, 40), QPointF(40, 40))
    elif tool is Tool.FILL:
        p.drawPath(_path([(10, 22), (24, 8), (38, 22), (24, 36)], close=True))
        p.setBrush(QColor(64, 160, 255))
        p.drawEllipse(QRectF(34, 30, 8, 10))
    elif tool is Tool.PICKER:
        p.drawLine(QPointF(10, 38), QPointF(28, 20))
        p.drawRoundedRect(QRectF(28, 8, 12, 12), 4, 4)
        p.drawLine(QPointF(24, 16), QPointF(32, 24))
    elif tool is Tool.MOVE:
        for a, b in (((24, 6), (24, 42)), ((6, 24), (42, 24))):
            p.drawLine(QPointF(*a), QPointF(*b))
        for tip, left, right in (((24, 6), (19, 11), (29, 11)), ((24, 42), (19, 37), (29, 37)),
                          ((6, 24), (11, 19), (11, 29)), ((42, 24), (37, 19), (37, 29))):
            p.drawPath(_path([left, tip, right]))
    elif tool is Tool.MASK:
        p.setBrush(QColor(255, 48, 140, 150))
        p.drawEllipse(QRectF(8, 8, 32, 32))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawLine(QPointF(14, 34), QPointF(34, 14))
    elif tool is Tool.INSPECT:
        p.drawEllipse(QRectF(8, 8, 22, 22))
        p.drawLine(QPointF(27, 27), QPointF(40, 40))
        p.setBrush(QColor(255, 210, 60))
        p.setPen(Qt.PenStyle.NoPen)
        for c in ((14, 15), (22, 13), (18, 23)):
            p.drawEllipse(QPointF(*c), 2.6, 2.6)


@cache
def tool_icon(tool: Tool) -> QIcon:
    pix = QPixmap(_SIZE, _SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _draw(tool, painter)
    painter.end()
    return QIcon(pix)
