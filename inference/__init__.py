"""Relayout engine: label maps, image I/O, correspondence backends, networks, the edit pipeline.

Array conventions used everywhere in this package are named in :mod:`inference.arrays`
(``RGBImage`` uint8 ``(H, W, 3)``, ``LabelMap`` uint8 ``(H, W)``, ``Mask`` bool ``(H, W)``, ...).

Tensors follow PyTorch's ``(B, C, H, W)`` layout with images in ``[0, 1]`` float unless a
function says otherwise.
"""

__version__ = "0.1.0"
