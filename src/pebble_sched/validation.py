"""Validation of the scalar values of an instance (sizes and ids) and of
the arguments of the library's calls (their types)."""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from .constants import MAX_SIZE
from .exceptions import InstanceError

if TYPE_CHECKING:
    from .buffers import NodeId

__all__ = ["check_id", "check_size", "check_type"]


def check_type(
    value: Any, cls: type, caller: str, reader: str, where: str = ""
) -> None:
    """Raise ``TypeError`` unless ``value`` is a ``cls``, naming ``caller``
    (and ``where``, which argument) and, for a path, the function that
    reads one (a file name passed to a library call would otherwise fail
    later with an unrelated ``AttributeError``)."""
    if isinstance(value, cls):
        return
    hint = (
        f" (read a file with pebble_sched.{reader}(path))"
        if isinstance(value, (str, os.PathLike))
        else ""
    )
    raise TypeError(
        f"{caller}() takes a pebble_sched.{cls.__name__}{where}, not "
        f"{type(value).__name__}{hint}."
    )


def check_size(value: Any, what: str) -> int:
    """A size as a Python int, or InstanceError naming ``what``."""
    if type(value) is int and 0 <= value <= MAX_SIZE:  # the common case
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InstanceError(f"{what}: size {value!r} is not a number.")
    if isinstance(value, Integral):
        ivalue = int(value)
    else:
        fvalue = float(value)
        if not math.isfinite(fvalue) or fvalue != int(fvalue):
            raise InstanceError(f"{what}: size {value!r} is not an integer.")
        ivalue = int(fvalue)
    if ivalue < 0:
        raise InstanceError(f"{what}: size {ivalue} is negative.")
    if ivalue > MAX_SIZE:
        raise InstanceError(
            f"{what}: size {ivalue} exceeds the maximum of 2**62 bytes."
        )
    return ivalue


def check_id(value: Any, what: str) -> NodeId:
    """An id as given, or InstanceError naming ``what``."""
    if type(value) is str or type(value) is int:  # the common cases
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InstanceError(f"{what} {value!r} is not a string or an integer.")
    return value
