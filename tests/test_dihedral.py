import numpy as np
import pytest

from trm.data import dihedral
from trm.data.errors import InputError


@pytest.mark.parametrize("shape", [(3, 4), (5, 5), (2, 3, 3)])
def test_every_transform_is_undone_by_its_inverse(shape):
    g = np.arange(np.prod(shape)).reshape(shape)
    for t in range(8):
        assert np.array_equal(dihedral.apply(dihedral.inverse(t), dihedral.apply(t, g)), g)


def test_the_eight_transforms_are_distinct():
    g = np.arange(9).reshape(3, 3)
    assert len({dihedral.apply(t, g).tobytes() for t in range(8)}) == 8
    assert np.array_equal(dihedral.apply(0, g), g)


def test_input_error_names_the_place():
    e = InputError("bad char 'x'", file="a.txt", line=3, column=7)
    assert str(e) == "a.txt:3:7: bad char 'x'"
