"""PyTorch's operations: ``unfold``/``fold`` for the book's columns, ``conv2d`` and ``max_pool2d`` with their own backward.

The same numbers as the portable :class:`~xpnet._array.ops.Ops` (to rounding): PyTorch's
convolution and its backward kernel (``convolution_backward``, which skips ``dx`` when asked);
max pooling on the CPU and CUDA, whose kernels keep each window's first maximum (the book's
``argmax``), after padding with zeros as the book does (PyTorch's own padding is -inf). Other
devices pool on the portable path. Mixed float dtypes are promoted first, as the standard says.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .ops import ConvCache, Ops, PoolCache

__all__ = ["TorchOps"]

Array = Any

#: Devices whose max-pooling kernel keeps the first maximum of a window.
_FIRST_MAX_DEVICES = ("cpu", "cuda")


def _promoted(*arrays: Any) -> tuple[Any, ...]:
    """The tensors among ``arrays`` in their promoted dtype (numbers are left as they are)."""
    tensors = [a for a in arrays if isinstance(a, torch.Tensor)]
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return tuple(a.to(dtype) if isinstance(a, torch.Tensor) else a for a in arrays)


class TorchOps(Ops):
    """:class:`~xpnet._array.ops.Ops` for PyTorch tensors."""

    def im2col(self, x: Array, fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``im2col`` layout from ``unfold`` (N, C*fh*fw, out_h*out_w)."""
        col = F.unfold(x, (fh, fw), padding=pad, stride=stride)
        return col.transpose(1, 2).reshape(-1, col.shape[1])

    def col2im(self, col: Array, input_shape: tuple[int, ...], fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``col2im`` by ``fold``."""
        n, c, h, w = input_shape
        blocks = col.reshape(n, -1, c * fh * fw).transpose(1, 2)
        return F.fold(blocks, (h, w), (fh, fw), padding=pad, stride=stride)

    def conv2d(self, x: Array, W: Array, b: Array | float, stride: int, pad: int) -> tuple[Array, ConvCache]:
        """``torch.nn.functional.conv2d``; a bias that is a Python number is added after."""
        x, W, b = _promoted(x, W, b)
        bias = b if isinstance(b, torch.Tensor) else None
        out = F.conv2d(x, W, bias, stride=stride, padding=pad)
        if bias is None:
            out = out + b
        return out, ConvCache(x, W, stride, pad, None, None)

    def conv2d_backward(self, dout: Array, cache: ConvCache, *, compute_dx: bool = True
                        ) -> tuple[Array | None, Array, Array]:
        """PyTorch's convolution backward kernel: ``dx`` (unless skipped), ``dW`` and ``db`` in one call."""
        dout, x, W = _promoted(dout, cache.x, cache.W)
        s, p = cache.stride, cache.pad
        dx, dW, db = torch.ops.aten.convolution_backward(
            dout, x, W, [int(W.shape[0])], [s, s], [p, p], [1, 1], False, [0, 0], 1, [compute_dx, True, True]
        )
        return dx, dW, db

    def max_pool(self, x: Array, ph: int, pw: int, stride: int, pad: int) -> tuple[Array, PoolCache]:
        """``max_pool2d`` with indices, on the zero-padded ``x`` (``arg_max`` is not kept: PyTorch's indices are)."""
        if x.device.type not in _FIRST_MAX_DEVICES:
            return super().max_pool(x, ph, pw, stride, pad)
        img = F.pad(x, (pad, pad, pad, pad)) if pad else x
        out, indices = F.max_pool2d(img, (ph, pw), (stride, stride), return_indices=True)
        n, c, h, w = (int(s) for s in x.shape)
        return out, PoolCache((n, c, h, w), ph, pw, stride, pad, None, (img, indices))

    def max_pool_backward(self, dout: Array, cache: PoolCache) -> Array:
        """PyTorch's max-pooling backward kernel, then the padding cropped."""
        if cache.state is None:
            return super().max_pool_backward(dout, cache)
        img, indices = cache.state
        s, p = cache.stride, cache.pad
        _, _, h, w = cache.x_shape
        dimg = torch.ops.aten.max_pool2d_with_indices_backward(
            dout, img.to(dout.dtype), [cache.pool_h, cache.pool_w], [s, s], [0, 0], [1, 1], False, indices
        )
        return dimg[:, :, p:p + h, p:p + w] if p else dimg
