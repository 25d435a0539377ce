"""The ConvGRU refinement of CoCosNet v2 (paper 004, Eq. 6-7), as a network with a frozen config.

Per PatchMatch iteration the refiner reads four variables -- the query features ``f^x``, the
source features at the current candidates ``f^y`` (softmax-weighted over the K candidates), the
candidates' offsets ``O_t`` and their matching scores ``S_t`` -- encodes them into ``x_t``, runs
one ConvGRU step on the hidden state (zero at the start of each level) and predicts an offset
correction ``ΔH`` per candidate with two convolutions: ``H_{t+1} = H'_t + ΔH``.

It needs learned weights (checkpoint network ``patchmatch_gru``); without them the backend runs
PatchMatch propagation only and says so in its timings (``gru_enabled = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

CHECKPOINT_NAME = "patchmatch_gru"


@dataclass(frozen=True)
class ConvGRURefinerConfig:
    feat_channels: int = 64     # C of f^x and f^y (must match the feature provider)
    candidates: int = 16        # K (paper 004, appendix B)
    input_channels: int = 64    # channels of the encoded input x_t
    hidden: int = 64            # channels of the GRU hidden state h_t


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)


class ConvGRURefiner(nn.Module):
    """One GRU-assisted refinement step; ``forward`` returns ``(h_t, ΔH)``."""

    def __init__(self, config: ConvGRURefinerConfig) -> None:
        super().__init__()
        self.config = config
        c, k = config.feat_channels, config.candidates
        xin, hid = config.input_channels, config.hidden
        self.encode = nn.Sequential(_conv(2 * c + 3 * k, xin), nn.ReLU(inplace=True))
        self.conv_z = _conv(hid + xin, hid)
        self.conv_r = _conv(hid + xin, hid)
        self.conv_h = _conv(hid + xin, hid)
        self.head = nn.Sequential(_conv(hid, hid), nn.ReLU(inplace=True), _conv(hid, 2 * k))

    def initial_state(self, batch: int, height: int, width: int,
                      device: torch.device) -> torch.Tensor:
        return torch.zeros(batch, self.config.hidden, height, width, device=device)

    def forward(
        self,
        hidden: torch.Tensor,    # (B, hid, H, W)
        fx: torch.Tensor,        # (B, C, H, W) query features
        fy: torch.Tensor,        # (B, C, H, W) source features at the candidates (soft-warped)
        offsets: torch.Tensor,   # (B, 2K, H, W) candidate offsets, normalised by the source size
        scores: torch.Tensor,    # (B, K, H, W) cosine scores of the candidates
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.encode(torch.cat([fx, fy, offsets, scores], dim=1))      # (B, xin, H, W)
        hx = torch.cat([hidden, x], dim=1)
        z = torch.sigmoid(self.conv_z(hx))
        r = torch.sigmoid(self.conv_r(hx))
        h_hat = torch.tanh(self.conv_h(torch.cat([r * hidden, x], dim=1)))
        hidden = (1 - z) * hidden + z * h_hat                              # Eq. 6
        return hidden, self.head(hidden)                                   # ΔH: (B, 2K, H, W)
