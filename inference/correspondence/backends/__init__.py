"""The warp backends, one module per entry of :data:`inference.correspondence.BACKENDS`.

The kernels they share (sampling, sparse warp, atlas, key bank, feature providers) live one
level up in :mod:`inference.correspondence`; their networks in :mod:`inference.networks`.
"""
