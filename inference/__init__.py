"""Relayout engine: label maps, image I/O, correspondence backends, networks, the edit pipeline.

Array conventions used everywhere in this package:

* ``RGBImage``  -- ``numpy.uint8`` array of shape ``(H, W, 3)``, RGB order, sRGB values.
* ``LabelMap``  -- ``numpy.uint8`` array of shape ``(H, W)``; 0 = other/unlabelled,
  1..150 = ADE20K classes (see :mod:`inference.labels`).
* ``Mask``      -- ``numpy.bool_`` array of shape ``(H, W)``; True = pixel is edited.

Tensors follow PyTorch's ``(B, C, H, W)`` layout with images in ``[0, 1]`` float unless a
function says otherwise.
"""

__version__ = "0.1.0"
