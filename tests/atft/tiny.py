"""Config overrides (`section.key=value`) for tiny, fast models and synthetic runs, shared by the tests."""

TINY_MODEL = ["model.hidden_size=8", "model.gat_heads=2", "model.attention_heads=2"]

# one epoch over three days of a 16-stock synthetic market, one torch thread, no on-disk cache
TINY_RUN = [
    "data.n_stocks=16",
    "data.n_days=140",
    "data.cache_dir=none",
    "train.epochs=1",
    "train.max_train_days=3",
    "train.torch_threads=1",
    *TINY_MODEL,
]


def assert_same_weights(first, second) -> None:
    """The checkpoints at two paths hold bit-identical weights (the same run, or a run and its resumption)."""
    import torch

    from atft.checkpoint import load_checkpoint

    a, b = load_checkpoint(first).model.state_dict(), load_checkpoint(second).model.state_dict()
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.equal(value, b[key]), key
