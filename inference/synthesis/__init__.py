"""Training-free synthesis of the edited region (the no-checkpoint refinement).

:mod:`.completion` runs it; :mod:`.levels`, :mod:`.patches`, :mod:`.nnf` and :mod:`.voting` are
its parts; :mod:`.blending` closes the seam in the gradient domain.
"""
