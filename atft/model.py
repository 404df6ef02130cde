"""ATFT-GAT-FAN: a multi-horizon, multi-quantile cross-sectional stock-return model, top to bottom.

One forward call sees ONE trading day: N stocks, each with an L-step look-back window of F features, plus
the day's stock graph. (Several days stacked as one block-diagonal graph, with no edge between days, are
the same thing to the model: nothing but the GAT mixes stocks, so each day is computed alone.) The stages, in the order the data flows through them (each is a named module so
that `atft.diagnostics` can hook it):

    fan         frequency adaptive normalisation: remove the top-k rFFT components of every stock's and
                feature's look-back series and keep the residual (Ye et al., NeurIPS 2024)     (N, L, F)
    vsn         variable selection: per-feature embeddings weighted by softmax gates              (N, L, D)
    projection  input projection (+ static features)                                             (N, L, D)
    temporal    LSTM + multi-head self-attention (missing steps masked) + gated residual, last step (N, D)
                (`encoder = "gru"`: a plain GRU instead; `"last"`: no temporal model, the latest step)
    fan_forecast  the removed dominant components, encoded and added back to the temporal state
                (FAN's recomposition: what FAN takes out of the input is forecast, not lost)      (N, D)
    gat         2 x GATv2Conv over the day's valid stocks with edge attributes, residual          (N, D)
    fusion      temporal and graph views merged                                                  (N, D)
    head_input  what every head sees                                                             (N, D)
    head_<h>d   one quantile head per horizon, non-crossing quantiles                            (N, Q)

`use_fan` and `use_gat` switch the two optional stages off (tests prove what each switch does);
`fan_recompose=false` keeps FAN's input half only. `mask` is honoured: a stock with ``mask`` false sends
and receives no graph message, and its predictions are 0 (the per-day mean of the normalised target),
whatever its inputs. A look-back step whose features are all exactly 0 is a missing step (the data path
zero-fills the days a stock was masked and the steps before the first day): the temporal attention does
not attend to it and the LSTM sees zeros there. The model does not import the data package: it sees
batches (see `atft.contract`), never markets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATv2Conv

from atft.contract import check_call, horizon_key, validate_batch

ENCODERS = ("attention", "gru", "last")  # ModelConfig.encoder


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of ATFT-GAT-FAN (stored in every checkpoint).

    Lives in this file (nanoGPT style) so that the model imports nothing but the contract;
    `atft.config.ModelConfig` is the same class.
    """

    hidden_size: int = 32  # D, width of every stage
    horizons: tuple[int, ...] = (1, 5, 10, 20)  # forecast horizons in trading days, one head each
    quantiles: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)  # must include the median 0.5
    edge_dim: int = 3  # D_e, attributes per edge: [return correlation, same sector, same subsector]
    use_fan: bool = True  # frequency adaptive normalisation of the look-back window
    fan_top_k: int = 2  # rFFT components removed per stock and feature
    fan_remove_mean: bool = False  # also let the mean (frequency 0) compete for removal
    fan_recompose: bool = True  # encode the removed components and add them back (FAN's output half)
    use_gat: bool = True  # graph attention over the day's stocks; off = stocks are independent
    gat_heads: int = 2  # attention heads per GATv2Conv layer (hidden_size must divide by it)
    gat_layers: int = 2  # GATv2Conv layers, each with a residual connection
    lstm_layers: int = 1
    # the temporal stage: "attention" (LSTM + self-attention + gated residual, the ATFT encoder), "gru"
    # (a plain GRU, its last state: the recurrent control) or "last" (no temporal model: the embedding of
    # the latest step only, to measure what the temporal encoder adds)
    encoder: str = "attention"
    attention_heads: int = 4  # self-attention heads of the temporal encoder
    dropout: float = 0.1
    gat_dropout: float | None = None  # attention dropout of the GAT layers; none = `dropout`

    def __post_init__(self) -> None:
        if 0.5 not in self.quantiles:
            raise ValueError(f"model.quantiles must include the median 0.5; found {list(self.quantiles)}.")
        if list(self.quantiles) != sorted(set(self.quantiles)) or not all(0 < q < 1 for q in self.quantiles):
            raise ValueError(
                f"model.quantiles must be distinct, increasing and inside (0, 1); found {list(self.quantiles)}."
            )
        if (
            not self.horizons
            or any(h <= 0 for h in self.horizons)
            or len(set(self.horizons)) != len(self.horizons)
        ):
            raise ValueError(
                f"model.horizons must be distinct positive day counts; found {list(self.horizons)}."
            )
        for name, heads in (("gat_heads", self.gat_heads), ("attention_heads", self.attention_heads)):
            if self.hidden_size % heads:
                raise ValueError(
                    f"model.hidden_size={self.hidden_size} must be divisible by model.{name}={heads}."
                )
        if self.encoder not in ENCODERS:
            raise ValueError(f"model.encoder must be one of {', '.join(ENCODERS)}; found {self.encoder!r}.")
        for name, rate in (("dropout", self.dropout), ("gat_dropout", self.gat_dropout)):
            if rate is not None and not 0.0 <= rate < 1.0:
                raise ValueError(f"model.{name} must be in [0, 1); found {rate}.")
        if self.fan_top_k < 1:
            raise ValueError(
                f"model.fan_top_k must be >= 1 (use model.use_fan=false to switch FAN off); found {self.fan_top_k}."
            )

    @property
    def median_index(self) -> int:
        """Column of the median in every [N, Q] prediction."""
        return self.quantiles.index(0.5)


class FrequencyAdaptiveNorm(nn.Module):
    """Remove the `top_k` largest rFFT components of each (stock, feature) series; return the residual.

    The removed part is the dominant, non-stationary oscillation of the window; the residual is what the
    encoder sees. By default the mean (frequency 0) is kept out of the competition so that the level of a
    cross-sectionally normalised feature survives.
    """

    def __init__(self, top_k: int, remove_mean: bool) -> None:
        super().__init__()
        self.top_k = top_k
        self.remove_mean = remove_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, L, F)
        length = x.shape[1]
        spectrum = torch.fft.rfft(x.float(), dim=1)  # (N, L//2+1, F) complex
        amplitude = spectrum.abs()
        first = 0 if self.remove_mean else 1
        k = min(self.top_k, amplitude.shape[1] - first)
        if k <= 0:
            return x
        top = amplitude[:, first:].topk(k, dim=1).indices + first  # (N, k, F)
        keep = torch.zeros_like(amplitude).scatter_(1, top, 1.0)  # (N, L//2+1, F)
        dominant = torch.fft.irfft(spectrum * keep, n=length, dim=1)  # (N, L, F)
        return (x.float() - dominant).to(x.dtype)


def step_validity(features: torch.Tensor) -> torch.Tensor:
    """bool (N, L): True where a look-back step has data; the data path zero-fills missing steps."""
    return (features != 0).any(dim=-1)


class DominantForecast(nn.Module):
    """FAN's recomposition: encode the removed dominant components of the window into a (N, D) state.

    FAN (Ye et al.) forecasts the removed, non-stationary part with its own small network and adds it
    back to the prediction; here the prediction is a cross-sectional score, so the removed part is
    encoded per step (linear + GELU), summarised by its masked mean and its latest step, and added to
    the temporal state. Nothing FAN removes is lost to the model.
    """

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.step = nn.Linear(n_features, hidden)
        self.out = nn.Linear(2 * hidden, hidden)

    def forward(self, dominant: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        # dominant (N, L, F), valid (N, L) bool -> (N, D)
        encoded = F.gelu(self.step(dominant)) * valid.unsqueeze(-1)  # (N, L, D), 0 on missing steps
        mean = encoded.sum(1) / valid.sum(1, keepdim=True).clamp(min=1)  # (N, D)
        return self.out(torch.cat([mean, encoded[:, -1]], dim=-1))  # (N, D)


class VariableSelection(nn.Module):
    """Per-feature affine embeddings, mixed by softmax gates computed from all features (vectorised)."""

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, hidden) / hidden**0.5)  # (F, D)
        self.bias = nn.Parameter(torch.zeros(n_features, hidden))  # (F, D)
        self.gate = nn.Sequential(nn.Linear(n_features, hidden), nn.ELU(), nn.Linear(hidden, n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, L, F)
        weights = torch.softmax(self.gate(x), dim=-1)  # (N, L, F)
        # sum_f weights_f * (x_f * W_f + b_f), without materialising (N, L, F, D)
        return torch.einsum("nlf,fd->nld", weights * x, self.weight) + weights @ self.bias  # (N, L, D)


class InputProjection(nn.Module):
    """Linear + GELU + LayerNorm, with the static features (if any) added to every step."""

    def __init__(self, hidden: int, n_static: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, hidden)
        self.static = nn.Linear(n_static, hidden) if n_static else None
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, static: torch.Tensor | None) -> torch.Tensor:  # h: (N, L, D)
        h = F.gelu(self.linear(h))
        if self.static is not None and static is not None:
            h = h + self.static(static).unsqueeze(1)  # (N, 1, D) broadcast over L
        return self.norm(self.dropout(h))  # (N, L, D)


class TemporalEncoder(nn.Module):
    """LSTM, then multi-head self-attention over the window, joined by a gated (GLU) residual."""

    def __init__(self, hidden: int, layers: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            hidden, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.attention = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.gate = nn.Linear(hidden, 2 * hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        # h (N, L, D), valid (N, L) bool: False = missing step, never attended to
        padding = None
        if valid is not None:
            h = h * valid.unsqueeze(-1)  # the LSTM sees zeros on missing steps
            # a stock with no valid step at all (masked out) attends everywhere: its output is discarded
            padding = ~valid & valid.any(dim=1, keepdim=True)  # (N, L) True = ignore this key
        sequence, _ = self.lstm(h)  # (N, L, D)
        attended, _ = self.attention(
            sequence, sequence, sequence, key_padding_mask=padding, need_weights=False
        )  # (N, L, D)
        out = self.norm(h + sequence + F.glu(self.gate(attended), dim=-1))  # (N, L, D)
        return out[:, -1]  # (N, D): the state at the latest day


class RecurrentEncoder(nn.Module):
    """A plain GRU over the window, its state at the latest day: the recurrent control."""

    def __init__(self, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(
            hidden, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )

    def forward(self, h: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        # h (N, L, D), valid (N, L) bool -> (N, D)
        if valid is not None:
            h = h * valid.unsqueeze(-1)  # the GRU sees zeros on missing steps
        sequence, _ = self.gru(h)  # (N, L, D)
        return sequence[:, -1]


class LatestStep(nn.Module):
    """No temporal model: the embedding of the latest step (what the temporal encoder is measured against)."""

    def forward(self, h: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return h[:, -1]  # (N, D)


class GraphAttention(nn.Module):
    """GATv2Conv layers over the day's stock graph, each with a residual connection and LayerNorm."""

    def __init__(self, hidden: int, heads: int, layers: int, edge_dim: int, dropout: float) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            GATv2Conv(
                hidden, hidden // heads, heads=heads, edge_dim=edge_dim, dropout=dropout, fill_value="mean"
            )
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = norm(h + F.elu(conv(h, edge_index, edge_attr)))  # (N, D)
        return h


class Fusion(nn.Module):
    """Merge the stock's own temporal state with its graph-attended state."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(2 * hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, own: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:  # (N, D), (N, D)
        return self.norm(own + self.dropout(F.gelu(self.linear(torch.cat([own, graph], dim=-1)))))  # (N, D)


class QuantileHead(nn.Module):
    """One horizon: an MLP to Q raw values, turned into non-crossing quantiles around the median."""

    def __init__(self, hidden: int, n_quantiles: int, median_index: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, n_quantiles))
        self.median_index = median_index

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # h: (N, D)
        raw = self.mlp(h)  # (N, Q)
        m = self.median_index
        median = raw[:, m : m + 1]  # (N, 1)
        below = torch.flip(torch.cumsum(torch.flip(F.softplus(raw[:, :m]), dims=[1]), dim=1), dims=[1])
        above = torch.cumsum(F.softplus(raw[:, m + 1 :]), dim=1)
        return torch.cat([median - below, median, median + above], dim=1)  # (N, Q), increasing


class ATFT_GAT_FAN(nn.Module):  # the name its users know
    """The model. Call it as ``model(batch)`` with one mapping (see `atft.contract`).

    Returns ``{"predictions": {"horizon_<h>d": (N, Q)}, "point": {"horizon_<h>d": (N,)}}`` where the
    point prediction is the median quantile.
    """

    def __init__(self, config: ModelConfig, n_features: int, n_static: int = 0) -> None:
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, found {n_features}.")
        self.config = config
        self.n_features = n_features
        self.n_static = n_static
        d = config.hidden_size
        self.fan = FrequencyAdaptiveNorm(config.fan_top_k, config.fan_remove_mean) if config.use_fan else None
        self.fan_forecast = (
            DominantForecast(n_features, d) if config.use_fan and config.fan_recompose else None
        )
        self.vsn = VariableSelection(n_features, d)
        self.projection = InputProjection(d, n_static, config.dropout)
        self.temporal = {
            "attention": lambda: TemporalEncoder(
                d, config.lstm_layers, config.attention_heads, config.dropout
            ),
            "gru": lambda: RecurrentEncoder(d, config.lstm_layers, config.dropout),
            "last": LatestStep,
        }[config.encoder]()
        self.gat = (
            GraphAttention(
                d,
                config.gat_heads,
                config.gat_layers,
                config.edge_dim,
                config.dropout if config.gat_dropout is None else config.gat_dropout,
            )
            if config.use_gat
            else None
        )
        self.fusion = Fusion(d, config.dropout)
        self.head_input = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict(
            {
                horizon_key(h): QuantileHead(d, len(config.quantiles), config.median_index)
                for h in config.horizons
            }
        )

    def __call__(self, *args: object, **kwargs: object) -> dict:
        """Enforce the one-mapping call before torch's hooks run (a 4-argument call names the problem)."""
        return super().__call__(check_call(args, kwargs))

    def forward(self, batch: Mapping) -> dict:
        inputs = validate_batch(
            batch, n_features=self.n_features, edge_dim=self.config.edge_dim, n_static=self.n_static
        )
        raw = inputs.features  # (N, L, F)
        valid = step_validity(raw)  # (N, L)
        x = self.fan(raw) if self.fan is not None else raw  # (N, L, F) residual without the dominant part
        h = self.vsn(x)  # (N, L, D)
        h = self.projection(h, inputs.static_features)  # (N, L, D)
        own = self.temporal(h, valid)  # (N, D)
        if self.fan_forecast is not None:
            own = own + self.fan_forecast(raw - x, valid)  # (N, D) the removed components, added back
        stock_ok = inputs.mask  # (N,)
        if self.gat is not None:
            src, dst = inputs.edge_index
            keep = stock_ok[src] & stock_ok[dst]  # no message from or to a masked-out stock
            graph = self.gat(own, inputs.edge_index[:, keep], inputs.edge_attr[keep])  # (N, D)
        else:
            graph = own
        shared = self.head_input(self.fusion(own, graph))  # (N, D)
        predictions = {
            key: torch.where(stock_ok.unsqueeze(1), head(shared), 0.0) for key, head in self.heads.items()
        }  # each (N, Q), 0 for masked-out stocks
        point = {key: value[:, self.config.median_index] for key, value in predictions.items()}  # each (N,)
        return {"predictions": predictions, "point": point}

    def stages(self) -> dict[str, nn.Module]:
        """The named stages in data-flow order (what diagnostics hook); switched-off stages are absent."""
        named: dict[str, nn.Module] = {}
        if self.fan is not None:
            named["fan"] = self.fan
        named |= {"vsn": self.vsn, "projection": self.projection, "temporal": self.temporal}
        if self.fan_forecast is not None:
            named["fan_forecast"] = self.fan_forecast
        if self.gat is not None:
            named["gat"] = self.gat
        named |= {"fusion": self.fusion, "head_input": self.head_input}
        named |= {f"head_{key.removeprefix('horizon_')}": head for key, head in self.heads.items()}
        return named
