"""Field-by-field comparison of records (design §11): the one helper of the round-trip tests."""
import dataclasses

import numpy as np


def assert_same(saved, loaded, where="record"):
    """Field by field: same types, scalars and arrays bit-identical, loaded arrays read-only copies."""
    if dataclasses.is_dataclass(saved) and not isinstance(saved, type):
        assert type(loaded) is type(saved), where
        for f in dataclasses.fields(saved):
            assert_same(getattr(saved, f.name), getattr(loaded, f.name), f"{where}.{f.name}")
    elif isinstance(saved, np.ndarray):
        assert isinstance(loaded, np.ndarray), where
        assert (loaded.dtype, loaded.shape) == (saved.dtype, saved.shape), where
        assert saved.tobytes() == loaded.tobytes(), where
        assert not loaded.flags.writeable, f"{where} is writeable after the round trip"
        assert not np.shares_memory(saved, loaded), f"{where} shares memory with the original"
    elif isinstance(saved, (tuple, list)):
        assert type(loaded) is type(saved) and len(loaded) == len(saved), where
        for k, (a, b) in enumerate(zip(saved, loaded)):
            assert_same(a, b, f"{where}[{k}]")
    elif isinstance(saved, dict):
        assert type(loaded) is type(saved) and list(loaded) == list(saved), where
        for k in saved:
            assert_same(saved[k], loaded[k], f"{where}[{k!r}]")
    elif isinstance(saved, (float, np.generic)):
        assert type(loaded) is type(saved), where
        assert np.asarray(saved).tobytes() == np.asarray(loaded).tobytes(), where  # NaN and -0.0 too
    else:
        assert type(loaded) is type(saved) and loaded == saved, where
